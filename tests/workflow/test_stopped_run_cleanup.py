"""The stopped-run cleanup: its trigger, its role, its definition, and executions of it.

A training execution that is stopped or times out runs no further state, so its endpoints
would keep running; the rule on those status changes starts the cleanup state machine, which
is executed here by moto's interpreter against the SageMaker double.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.workflow.asl_validator import assert_valid_asl
from tests.workflow.sagemaker_stub import SageMakerStub
from tests.workflow.sfn_harness import WorkflowRunner
from tests.workflow.template_values import state_machine_definition, validator_environment

ENVIRONMENTS = ("local", "dev", "staging", "prod")
CLEANUP = "StoppedRunCleanup"
SAGEMAKER = "arn:aws:sagemaker:us-east-1:123456789012"
NOTHING_LEFT = {"models": [], "endpoint_configs": [], "endpoints": []}
DELETES = [
    ("DeleteEndpoint", "EndpointName"),
    ("DeleteEndpointConfig", "EndpointConfigName"),
    ("DeleteModel", "ModelName"),
]


def _logical_id(resolver, kind: str, prefix: str) -> str:
    (found,) = [lid for lid in resolver.resources(kind) if lid.startswith(prefix)]
    return found


def _transformed(target: dict, detail: dict) -> dict:
    """The input EventBridge gives the target for an event with ``detail``."""
    transformer = target["InputTransformer"]
    event = {"detail": detail}

    def value(match: re.Match) -> str:
        path = transformer["InputPathsMap"][match[1]].removeprefix("$.").split(".")
        found = event
        for key in path:
            found = found[key]
        return json.dumps(found)

    return json.loads(re.sub(r"<([\w-]+)>", value, transformer["InputTemplate"]))


def test_stopped_and_timed_out_executions_start_the_cleanup(resolver_for):
    resolver = resolver_for("local")
    training = _logical_id(resolver, "AWS::StepFunctions::StateMachine", "TrainingStateMachine")
    cleanup = _logical_id(resolver, "AWS::StepFunctions::StateMachine", f"{CLEANUP}StateMachine")
    (rule,) = resolver.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": training}],
            "status": ["ABORTED", "TIMED_OUT", "FAILED"],
        },
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": cleanup}
    role = target["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resolver.resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    assert policy == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": cleanup}}
    ]
    execution_input = json.dumps({"run_name": "sql-demo", "recipe": "lora"})
    detail = {
        "name": "exec-1",
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:training:exec-1",
        "status": "ABORTED",
        "input": execution_input,
    }
    assert _transformed(target, detail) == {
        "execution_name": "exec-1",
        "execution_arn": detail["executionArn"],
        "status": "ABORTED",
        "input": execution_input,  # the execution's input as JSON text
    }


def test_the_cleanup_logs_everything_traces_and_is_an_output(synth_env):
    template = synth_env("local").templates["Workflow"]
    (machine,) = [
        r
        for lid, r in template["Resources"].items()
        if lid.startswith(f"{CLEANUP}StateMachine") and r["Type"].endswith("StateMachine")
    ]
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert properties["TracingConfiguration"] == {"Enabled": True}
    output = template["Outputs"]["StoppedRunCleanupStateMachineArn"]["Value"]
    assert output["Ref"].startswith(f"{CLEANUP}StateMachine")


def test_a_failed_or_unstarted_cleanup_raises_an_alarm(resolver_for):
    resolver = resolver_for("local")
    cleanup = _logical_id(resolver, "AWS::StepFunctions::StateMachine", f"{CLEANUP}StateMachine")
    (rule,) = resolver.resources("AWS::Events::Rule")
    alarms = [a["Properties"] for a in resolver.resources("AWS::CloudWatch::Alarm").values()]
    (failed,) = [
        a
        for a in alarms
        if a["MetricName"] == "ExecutionsFailed" and cleanup in json.dumps(a["Dimensions"])
    ]
    (unstarted,) = [a for a in alarms if a["MetricName"] == "FailedInvocations"]
    assert unstarted["Namespace"] == "AWS/Events"
    assert unstarted["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule}}]
    for alarm in (failed, unstarted):
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )
        assert alarm["AlarmActions"][0]["Ref"].startswith("NotificationsTopic")


def test_the_cleanup_role_may_only_find_names_delete_and_report(resolver_for):
    resolver = resolver_for("local")
    (role,) = [
        r
        for lid, r in resolver.resources("AWS::IAM::Role").items()
        if lid.startswith(f"{CLEANUP}Role")
    ]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    assert "ManagedPolicyArns" not in role["Properties"]
    (policy,) = resolver.resolve(role["Properties"]["Policies"])
    statements = {
        s["Sid"]: (sorted(_as_list(s["Action"])), _as_list(s["Resource"]))
        for s in policy["PolicyDocument"]["Statement"]
    }
    endpoint_actions = ["sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint"]
    assert statements == {
        "FindRunNames": (
            ["lambda:InvokeFunction"],
            ["arn:aws:lambda:us-east-1:123456789012:function:InputValidatorFunctionA6714C0E"],
        ),
        "FindWhoStartedTheRun": (
            ["sagemaker:DescribeProcessingJob"],
            [f"{SAGEMAKER}:processing-job/*-prepare"],
        ),
        "CleanUpEvaluationEndpoint": (endpoint_actions, [f"{SAGEMAKER}:endpoint/*-eval"]),
        "CleanUpEvaluationEndpointConfig": (
            ["sagemaker:DeleteEndpointConfig"],
            [f"{SAGEMAKER}:endpoint-config/*-eval"],
        ),
        "CleanUpEvaluationModel": (["sagemaker:DeleteModel"], [f"{SAGEMAKER}:model/*-eval"]),
        "CleanUpBaseEndpoint": (endpoint_actions, [f"{SAGEMAKER}:endpoint/*-base"]),
        "CleanUpBaseEndpointConfig": (
            ["sagemaker:DeleteEndpointConfig"],
            [f"{SAGEMAKER}:endpoint-config/*-base"],
        ),
        "CleanUpBaseModel": (["sagemaker:DeleteModel"], [f"{SAGEMAKER}:model/*-base"]),
        "CleanUpChampionEndpoint": (endpoint_actions, [f"{SAGEMAKER}:endpoint/*-champion"]),
        "CleanUpChampionEndpointConfig": (
            ["sagemaker:DeleteEndpointConfig"],
            [f"{SAGEMAKER}:endpoint-config/*-champion"],
        ),
        "CleanUpChampionModel": (["sagemaker:DeleteModel"], [f"{SAGEMAKER}:model/*-champion"]),
        "Notify": (
            ["sns:Publish"],
            ["arn:aws:sns:us-east-1:123456789012:NotificationsTopicAE679CBD"],
        ),
        "UseKey": (
            ["kms:Decrypt", "kms:GenerateDataKey"],
            ["arn:aws:kms:us-east-1:123456789012:key/key961b73fd"],
        ),
    }


def test_every_sagemaker_call_of_the_cleanup_is_allowed(resolver_for, cleanup_definition):
    """Each name a state reads from the run plan matches the role's pattern for its action."""
    resolver = resolver_for("local")
    (role_id,) = [
        lid for lid in resolver.resources("AWS::IAM::Role") if lid.startswith(f"{CLEANUP}Role")
    ]
    (policy,) = resolver.resolve(resolver.template["Resources"][role_id]["Properties"]["Policies"])
    allowed = {
        (action, resource)
        for s in policy["PolicyDocument"]["Statement"]
        for action in _as_list(s["Action"])
        for resource in _as_list(s["Resource"])
    }
    kinds = {
        "EndpointName": "endpoint",
        "EndpointConfigName": "endpoint-config",
        "ProcessingJobName": "processing-job",
    }
    checked = 0
    for name, state in cleanup_definition["States"].items():
        action = state.get("Resource", "").rsplit(":", 1)[-1]
        if not state.get("Resource", "").startswith("arn:aws:states:::aws-sdk:sagemaker:"):
            continue
        ((parameter, path),) = state["Parameters"].items()
        key = path.removeprefix("$.run.names.")
        prefix = key.split("_")[0] if key.startswith(("base_", "champion_")) else None
        suffix = {"prepare_job": "-prepare"}.get(key, f"-{prefix}" if prefix else "-eval")
        resource = f"{SAGEMAKER}:{kinds.get(parameter[:-2], 'model')}/*{suffix}"
        assert (f"sagemaker:{action[0].upper()}{action[1:]}", resource) in allowed, name
        checked += 1
    assert checked == 13  # the first job's look-up, 3 endpoints x (1 look-up, 3 deletes)


def test_the_cleanup_definition_is_valid_asl(resolver_for, tmp_path):
    """asl-validator, as for the training state machine, on every environment's definition."""
    assert_valid_asl(
        {name: state_machine_definition(resolver_for(name), CLEANUP) for name in ENVIRONMENTS},
        tmp_path,
    )


def test_the_deletes_are_the_training_machines_own(cleanup_definition, local_definition):
    """The same Teardown states, under the same names, for every endpoint."""
    for label in ("evaluation", "base", "champion"):
        for what in ("endpoint", "endpoint config", "model"):
            name = f"Delete the {label} {what}"
            assert (
                cleanup_definition["States"][name]["Parameters"]
                == (local_definition["States"][name]["Parameters"])
            )


# Executions of the cleanup state machine.


@pytest.fixture(scope="module")
def cleanup_definition(resolver_for) -> dict:
    return state_machine_definition(resolver_for("local"), CLEANUP)


@pytest.fixture(scope="module")
def runner(moto_endpoint, cleanup_definition, resolver_for):
    resolver = resolver_for("local")
    topic_id, _ = resolver.only("AWS::SNS::Topic")
    runner = WorkflowRunner(moto_endpoint, cleanup_definition, validator_environment(resolver))
    with runner.patched_interpreter(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
        runner.setup(topic_arn=resolver.resolve({"Ref": topic_id}), buckets=[])
        yield runner


def _arn(execution_name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:training:{execution_name}"


def _stopped(execution_input, name: str = "exec-1", status: str = "ABORTED") -> dict:
    """The cleanup's input, as the rule builds it from the status-change event."""
    return {
        "execution_name": name,
        "execution_arn": _arn(name),
        "status": status,
        "input": execution_input if execution_input is None else json.dumps(execution_input),
    }


def _deleted(stub: SageMakerStub) -> list[tuple[str, str]]:
    """(operation, resource name) of every delete call, in order, retries included."""
    return [(op, next(iter(params.values()))) for op, params in stub.calls if op.startswith("Del")]


def test_a_stopped_run_s_evaluation_endpoint_is_deleted(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval")
    execution = runner.run(_stopped({"run_name": "sql-demo", "recipe": "lora"}), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running() == NOTHING_LEFT
    assert [(op, name) for op, name in _deleted(stub) if name == "sql-demo-eval"] == [
        (op, "sql-demo-eval") for op, _ in DELETES
    ]
    # The base endpoint is tried all the same: not found is recorded, and is no failure.
    assert "Delete the base model" in execution.visited
    assert execution.visited[-2:] == ["Report the cleanup", "Cleanup done"]
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo ABORTED: nothing left running"
    assert (
        "Fine-tuning execution exec-1 (run sql-demo) ended ABORTED without its own cleanup"
        in (notification["Message"])
    )
    assert (
        "sql-demo-eval (evaluation), sql-demo-base (base model) and sql-demo-champion (champion)"
        in notification["Message"]
    )
    assert 'Could not find endpoint \\"sql-demo-base\\"' in notification["Message"]
    attributes = {k: v["Value"] for k, v in notification["MessageAttributes"].items()}
    assert attributes == {"status": "ABORTED", "run_name": "sql-demo", "cleanup": "SUCCEEDED"}


def test_a_compared_run_s_base_endpoint_is_deleted_too(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval")
    stub.left_behind("sql-demo-base")
    compared = {"run_name": "sql-demo", "evaluation": {"compare_with_base": True}}
    execution = runner.run(_stopped(compared, status="TIMED_OUT"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running() == NOTHING_LEFT
    assert [(op, name) for op, name in _deleted(stub) if not name.endswith("-champion")] == [
        (op, name) for name in ("sql-demo-eval", "sql-demo-base") for op, _ in DELETES
    ]
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo TIMED_OUT: nothing left running"
    assert 'Could not find endpoint \\"sql-demo-base\\"' not in notification["Message"]


def test_a_stopped_run_s_champion_endpoint_is_deleted_too(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval")
    stub.left_behind("sql-demo-champion", ["Creating", "InService"])  # settles, then goes
    compared = {"run_name": "sql-demo", "evaluation": {"compare_with": "champion"}}
    execution = runner.run(_stopped(compared), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running() == NOTHING_LEFT
    assert [(op, name) for op, name in _deleted(stub) if name == "sql-demo-champion"] == [
        (op, "sql-demo-champion") for op, _ in DELETES
    ]
    assert "Wait for the champion endpoint to settle" in execution.visited
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo ABORTED: nothing left running"


def test_without_run_name_the_execution_names_the_run(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo-2026", _arn("sql_demo.2026"))
    stub.left_behind("sql_demo.2026-eval")  # no such name: SageMaker would refuse it
    stub.left_behind("sql-demo-2026-eval")
    execution = runner.run(_stopped({"recipe": "lora"}, name="sql_demo.2026"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running()["endpoints"] == ["sql_demo.2026-eval"]
    assert ("DeleteEndpoint", "sql-demo-2026-eval") in _deleted(stub)


def test_an_input_the_event_could_not_carry_falls_back_to_the_execution_name(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("exec-9", _arn("exec-9"))
    stub.left_behind("exec-9-eval")
    execution = runner.run(_stopped(None, name="exec-9"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running() == NOTHING_LEFT


def test_an_endpoint_still_starting_is_deleted_once_settled(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval", ["Creating", "Creating", "InService"])
    execution = runner.run(_stopped({"run_name": "sql-demo"}), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited.count("Wait for the evaluation endpoint to settle") == 2
    assert execution.waits == [60, 60]
    assert stub.left_running() == NOTHING_LEFT


def test_when_no_endpoint_was_created_it_ends_without_failing(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    execution = runner.run(_stopped({"run_name": "sql-demo"}), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert len(_deleted(stub)) >= 6  # every delete tried (and retried), each not found
    (notification,) = execution.notifications
    assert notification["MessageAttributes"]["cleanup"]["Value"] == "SUCCEEDED"


def test_a_delete_that_fails_otherwise_fails_the_cleanup_and_says_so(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint, refused_deletes={"sql-demo-eval"})
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval")
    execution = runner.run(_stopped({"run_name": "sql-demo"}), stub)

    assert execution.status == "FAILED"
    assert execution.error == "CleanupFailed"
    assert "not authorized to perform: sagemaker:DeleteEndpoint" in execution.cause
    # The rest is still deleted: only the refused endpoint is left.
    assert stub.left_running() == {**NOTHING_LEFT, "endpoints": ["sql-demo-eval"]}
    assert execution.visited[-3:] == [
        "Record the cleanup failure",
        "Report the failed cleanup",
        "Cleanup failed",
    ]
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo ABORTED: cleanup FAILED"
    assert "Delete the rest by hand" in notification["Message"]
    assert notification["MessageAttributes"]["cleanup"]["Value"] == "FAILED"


def test_a_run_that_never_started_its_first_job_has_nothing_to_clean_up(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    execution = runner.run(_stopped({"run_name": "sql-demo"}), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited[-3:] == [
        "Look up the run's first job",
        "Was the run never started?",
        "Nothing to clean up",
    ]
    # Two quick retries (the integration names throttling and not found alike), no delete.
    assert stub.operations() == ["DescribeProcessingJob"] * 3


@pytest.mark.parametrize("started_by", [_arn("exec-0"), None])
def test_an_earlier_run_s_endpoints_under_the_same_name_are_left_alone(runner, started_by):
    """Stopped before *Check that the run name is new* turned it away, an execution shares
    its run name with the run that holds it (or with a job this workflow did not start)."""
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", started_by)
    stub.left_behind("sql-demo-eval")
    execution = runner.run(_stopped({"run_name": "sql-demo"}, name="exec-1"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited[-2:] == [
        "Did this execution start the run?",
        "Not this execution's run",
    ]
    assert stub.operations() == ["DescribeProcessingJob"]
    assert stub.left_running()["endpoints"] == ["sql-demo-eval"]
    assert execution.notifications == []


def test_a_failed_look_up_of_the_first_job_fails_the_cleanup_and_deletes_nothing(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint, refused_lookups={"sql-demo-prepare"})
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-eval")
    execution = runner.run(_stopped({"run_name": "sql-demo"}), stub)

    assert execution.status == "FAILED"
    assert execution.error == "CleanupFailed"
    assert execution.cause.startswith("Could not look up sql-demo-prepare, the first job of run")
    assert "not authorized to perform: sagemaker:DescribeProcessingJob" in execution.cause
    assert _deleted(stub) == []
    assert execution.visited[-3:] == [
        "Record the failed look-up",
        "Report the failed cleanup",
        "Cleanup failed",
    ]
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo ABORTED: cleanup FAILED"


def test_a_failed_run_that_had_cleaned_up_ends_without_a_message(runner):
    """FAILED executions come here as a safety net; their own cleanup normally ran."""
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    execution = runner.run(_stopped({"run_name": "sql-demo"}, status="FAILED"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited[-1] == "The failed run had cleaned up"
    assert execution.notifications == []


def test_a_failed_run_whose_endpoint_is_still_being_deleted_ends_without_a_message(runner):
    """The run's own cleanup asked to delete the endpoint seconds before: it is Deleting."""
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.endpoints["sql-demo-eval"] = ["Deleting"]
    execution = runner.run(_stopped({"run_name": "sql-demo"}, status="FAILED"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert "Note that the evaluation endpoint is being deleted" in execution.visited
    assert ("DeleteEndpoint", "sql-demo-eval") not in _deleted(stub)
    assert execution.visited[-1] == "The failed run had cleaned up"
    assert execution.notifications == []


def test_a_failed_run_that_skipped_its_cleanup_is_cleaned_up_and_reported(runner):
    """A failure no Catch catches (States.Runtime) ends the execution before its cleanup."""
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    stub.run_started("sql-demo", _arn("exec-1"))
    stub.left_behind("sql-demo-base")
    compared = {"run_name": "sql-demo", "evaluation": {"compare_with_base": True}}
    execution = runner.run(_stopped(compared, status="FAILED"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert stub.left_running() == NOTHING_LEFT
    (notification,) = execution.notifications
    assert notification["Subject"] == "Run sql-demo FAILED: nothing left running"
    assert "ended FAILED without its own cleanup" in notification["Message"]


def test_an_execution_that_never_had_a_run_name_is_skipped(runner):
    stub = SageMakerStub(s3_endpoint=runner.endpoint)
    execution = runner.run(_stopped({"run_name": "---"}, name="___"), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited == [
        "Find the run's names",
        "Was the run named?",
        "Nothing to clean up",
    ]
    assert stub.calls == []


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]
