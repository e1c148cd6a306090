"""The synthesized state machine definition: shape, error handling, and ASL validity."""

from __future__ import annotations

import copy
import json

import pytest

from tests.workflow.asl_validator import assert_valid_asl
from tests.workflow.template_values import state_machine_definition

ENVIRONMENTS = ("local", "dev", "staging", "prod")
CLEANUP_START = "Look up the evaluation endpoint"
LAST_DELETE = "Delete the evaluation model"
LAST_BASE_DELETE = "Delete the base model"
LAST_CHAMPION_DELETE = "Delete the champion model"
# Tasks that run after the cleanup or instead of a run: they must not loop back into it.
AFTER_CLEANUP = {
    "Delete the evaluation endpoint",
    "Delete the evaluation endpoint config",
    "Delete the evaluation model",
    "Look up the base endpoint",
    "Delete the base endpoint",
    "Delete the base endpoint config",
    "Delete the base model",
    "Look up the champion endpoint",
    "Delete the champion endpoint",
    "Delete the champion endpoint config",
    "Delete the champion model",
    "Cost the run",
    "Notify about the failure",
    "Notify about the success",
    "Report the rejected input",
    "Report the run that did not start",
}
NAME_CHECK = "Check that the run name is new"
NO_RUN_YET = {"Validate the input", NAME_CHECK}
BASE_URI = "$.run.base_model"  # the base model's S3 prefix, as training read it


def _successors(state: dict) -> list[str]:
    nexts = [state.get("Next"), state.get("Default")]
    nexts += [choice["Next"] for choice in state.get("Choices", [])]
    nexts += [catch["Next"] for catch in state.get("Catch", [])]
    return [name for name in nexts if name]


def _ends_reachable(definition: dict, start: str, avoiding: str) -> set[str]:
    """End states reachable from ``start`` on paths that never enter ``avoiding``."""
    seen, ends, todo = set(), set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name == avoiding:
            continue
        seen.add(name)
        state = definition["States"][name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            ends.add(name)
        todo.extend(_successors(state))
    return ends


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def definition(request, resolver_for) -> dict:
    return state_machine_definition(resolver_for(request.param))


def test_only_a_run_that_launched_nothing_can_end_without_the_cleanup(definition):
    """Every way to the end (success, each failure, the gate) deletes the evaluation resources,
    but a rejected input and a run that could not start, which end before the first job."""
    assert _ends_reachable(definition, definition["StartAt"], LAST_DELETE) == {
        "Input rejected",
        "Run not started",
    }
    assert _ends_reachable(definition, "Prepare the data", LAST_DELETE) == set()


def test_a_compared_run_cannot_end_without_deleting_the_base_endpoint(definition):
    """With compare_with_base on, every way to the end deletes the base endpoint's resources."""
    compared = copy.deepcopy(definition)
    choice = compared["States"]["Clean up the base endpoint too?"]
    (rule,) = choice["Choices"]
    assert rule["Next"] == "Look up the base endpoint"
    assert _compares_with_base(rule)
    del choice["Default"]  # the flag is on: only the rule's branch is taken
    assert _ends_reachable(compared, "Prepare the data", LAST_BASE_DELETE) == set()


def test_a_run_with_a_champion_cannot_end_without_deleting_the_champion_endpoint(definition):
    """Once a champion is found, every way to the end deletes its endpoint's resources."""
    found = copy.deepcopy(definition)
    choice = found["States"]["Clean up the champion endpoint too?"]
    (rule,) = choice["Choices"]
    assert rule == {
        "Variable": "$.champion.model_data",
        "IsPresent": True,
        "Next": "Look up the champion endpoint",
    }
    del choice["Default"]
    assert _ends_reachable(found, "Prepare the data", LAST_CHAMPION_DELETE) == set()


def test_the_base_endpoint_is_deployed_and_awaited_only_when_compared(definition):
    states = definition["States"]
    deploy = states["Deploy the base model too?"]
    assert states["Create the evaluation endpoint"]["Next"] == "Deploy the base model too?"
    (rule,) = deploy["Choices"]
    assert (rule["Next"], deploy["Default"]) == (
        "Create the base model",
        "Deploy the champion too?",
    )
    assert states["Create the base endpoint"]["Next"] == "Deploy the champion too?"
    wait = states["Wait for the base endpoint too?"]
    (wait_rule,) = wait["Choices"]
    assert (wait_rule["Next"], wait["Default"]) == (
        "Start waiting for the base endpoint",
        "Wait for the champion endpoint too?",
    )
    in_service = {
        rule["StringEquals"]: rule["Next"]
        for rule in states["Is the base endpoint in service?"]["Choices"]
        if rule.get("Variable") == "$.base_endpoint.status"
    }
    assert in_service == {
        "InService": "Wait for the champion endpoint too?",
        "Failed": "Read why the base endpoint failed",
    }
    assert all(_compares_with_base(r) for r in (rule, wait_rule))


def test_the_champion_is_looked_up_only_when_compared_and_awaited_only_when_found(definition):
    states = definition["States"]
    compare = states["Compare with the champion?"]
    (rule,) = compare["Choices"]
    # Looked up before any endpoint is created: an unusable champion costs no GPU time.
    assert (rule["Next"], compare["Default"]) == (
        "Find the champion",
        "Create the evaluation model",
    )
    assert rule["And"][1] == {
        "Variable": "$.run.evaluation.compare_with_champion",
        "BooleanEquals": True,
    }
    assert states["Note that there is no champion"]["Next"] == "Create the evaluation model"
    assert states["Evaluate against the champion"]["Next"] == "Create the evaluation model"
    deploy = states["Deploy the champion too?"]
    (deploy_rule,) = deploy["Choices"]
    assert (deploy_rule["Next"], deploy["Default"]) == (
        "Create the champion model",
        "Start waiting for the evaluation endpoint",
    )
    assert states["Create the champion endpoint"]["Next"] == (
        "Start waiting for the evaluation endpoint"
    )
    wait = states["Wait for the champion endpoint too?"]
    (wait_rule,) = wait["Choices"]
    assert (wait_rule["Next"], wait["Default"]) == (
        "Start waiting for the champion endpoint",
        "Evaluate the model",
    )
    # The gate compares with the bar the evaluation job wrote: no arithmetic in the state machine.
    beats = states["Does the model beat the champion?"]
    (no_champion, compared) = beats["Choices"]
    assert no_champion["Next"] == "Register the model"
    assert compared == {
        "Variable": "$.evaluation.report.gate.value",
        "NumericGreaterThanEqualsPath": "$.evaluation.report.gate.champion.bar",
        "Next": "Register the model",
    }
    assert beats["Default"] == "Record that the champion was not beaten"


def _compares_with_base(rule: dict) -> bool:
    return rule["And"] == [
        {"Variable": "$.run.evaluation.compare_with_base", "IsPresent": True},
        {"Variable": "$.run.evaluation.compare_with_base", "BooleanEquals": True},
    ]


def test_every_task_retries_and_catches(definition):
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) == 42
    # Only a rejected input is the user's to fix; any other failure of the validation is not.
    catches = {"Validate the input": [["InvalidInputError"], ["States.ALL"]]}
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        # The run-name check retries briefly: "not found" is its usual, good answer.
        assert state["Retry"][0]["MaxAttempts"] >= (2 if name == NAME_CHECK else 3), name
        caught = [c["ErrorEquals"] for c in state.get("Catch", [])]
        assert caught == catches.get(name, [["States.ALL"]]), name
        assert state["ResultPath"] != "$" or name in NO_RUN_YET, f"{name} replaces its input"


def test_a_failed_validation_is_a_rejected_input_only_when_the_input_is_bad(definition):
    rejected, other = definition["States"]["Validate the input"]["Catch"]
    # The Lambda's error payload is read down to its message, the list of problems.
    assert rejected["Next"] == "Read the validation error"
    parse = definition["States"]["Read the validation error"]
    assert parse["Parameters"] == {"payload.$": "States.StringToJson($.error.Cause)"}
    keep = definition["States"][parse["Next"]]
    assert keep["Parameters"]["Cause.$"] == "$.rejection.payload.errorMessage"
    assert (keep["ResultPath"], keep["Next"]) == ("$.error", "Report the rejected input")
    assert other["Next"] == "Report the run that did not start"
    assert definition["States"]["Report the run that did not start"]["Next"] == "Run not started"


def test_every_work_task_fails_into_the_cleanup_keeping_the_error(definition):
    work = {
        name: state
        for name, state in definition["States"].items()
        if state["Type"] == "Task" and name not in AFTER_CLEANUP | NO_RUN_YET | {CLEANUP_START}
    }
    assert len(work) == 23
    for name, state in work.items():
        (catch,) = state["Catch"]
        assert (catch["Next"], catch["ResultPath"]) == (CLEANUP_START, "$.error"), name
    records = [name for name in definition["States"] if name.startswith("Record ")]
    assert len(records) == 20
    elsewhere = {
        "Record the cleanup failure": "Notify about the failure",
        "Record the cleanup failure after the run failed": "Notify about the failure",
        "Record the failed run-name check": "Report the run that did not start",
    }
    for name in records:
        assert definition["States"][name]["Next"] == elsewhere.get(name, CLEANUP_START), name


def test_the_trained_model_is_kept_before_anything_serves_it(definition):
    """Everything after training reads the copy under models/, which no job can write."""
    states = definition["States"]
    assert states["Train the model"]["Next"] == "List the trained model's files"
    keep = states["Keep the trained model"]
    assert keep["Type"] == "Map"
    assert [(c["ErrorEquals"], c["Next"]) for c in keep["Catch"]] == [
        (["States.ALL"], CLEANUP_START)
    ]
    (copy,) = keep["ItemProcessor"]["States"].values()
    assert copy["Resource"].endswith(":states:::aws-sdk:s3:copyObject")
    assert copy["Parameters"]["Key.$"] == "States.Format('models/{}', $.key)"
    assert copy["Retry"][0]["MaxAttempts"] >= 3
    assert states["Use the kept model"]["Parameters"] == {"model_data.$": "$.run.uris.kept_model"}
    assert states["Use the kept model"]["Next"] == "Compare with the champion?"
    assert states["Record the missing model"]["Next"] == CLEANUP_START


def test_only_a_new_run_name_reaches_the_first_job(definition):
    """The cleanup deletes what carries the run's names: a taken name must not get that far."""
    check = definition["States"][NAME_CHECK]
    assert definition["States"]["Validate the input"]["Next"] == NAME_CHECK
    # The earlier run's prepare job is not found: the name is new. Any other failure of the
    # look-up cannot tell, and starts nothing.
    assert [(c["ErrorEquals"], c["Next"]) for c in check["Catch"]] == [
        (["States.ALL"], "Is the run name free?")
    ]
    free = definition["States"]["Is the run name free?"]
    (rule,) = free["Choices"]
    assert rule["Next"] == "Prepare the data"
    assert {c["StringMatches"] for c in rule["Or"]} == {"*Could not find*", "*esource not found*"}
    assert free["Default"] == "Record the failed run-name check"
    assert [r["ErrorEquals"] for r in check["Retry"]] == [["States.TaskFailed"]]
    taken = definition["States"][check["Next"]]
    assert taken["Parameters"]["Error"] == "RunNameInUse"
    assert taken["Next"] == "Report the rejected input"


def test_sagemaker_failures_are_not_retried(definition):
    """A failed job keeps its name, so a retry would only fail on the name; service errors do."""
    for name in ("Prepare the data", "Train the model", "Evaluate the model"):
        for retrier in definition["States"][name]["Retry"]:
            assert "States.TaskFailed" not in retrier["ErrorEquals"]
            assert "States.ALL" not in retrier["ErrorEquals"]
    validate = definition["States"]["Validate the input"]["Retry"][0]["ErrorEquals"]
    assert all(error.startswith("Lambda.") for error in validate)


def test_names_and_locations_come_from_the_run_plan(definition):
    states = definition["States"]
    training = states["Train the model"]["Parameters"]
    assert training["TrainingJobName.$"] == "$.run.names.training_job"
    assert training["OutputDataConfig"]["CompressionType"] == "NONE"
    assert states["Create the evaluation endpoint"]["Parameters"]["EndpointName.$"] == (
        "$.run.names.endpoint"
    )
    assert states["Read the evaluation report"]["ResultSelector"] == {
        "report.$": "States.StringToJson($.Body)"
    }
    served = {"evaluation": ("model", "$.training.model_data"), "base": ("base_model", BASE_URI)}
    for label, (name_key, model_data) in served.items():
        model = states[f"Create the {label} model"]["Parameters"]
        assert model["ModelName.$"] == f"$.run.names.{name_key}"
        assert model["PrimaryContainer"]["ModelDataSource"] == {
            "S3DataSource": {
                "S3Uri.$": model_data,
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        }
    base = {
        name: states[f"Create the base {name}"]["Parameters"]
        for name in ("endpoint config", "endpoint")
    }
    assert base["endpoint config"]["EndpointConfigName.$"] == "$.run.names.base_endpoint_config"
    assert base["endpoint config"]["ProductionVariants"][0]["ModelName.$"] == (
        "$.run.names.base_model"
    )
    assert base["endpoint"]["EndpointName.$"] == "$.run.names.base_endpoint"
    for state in (
        "Check the base endpoint status",
        "Look up the base endpoint",
        "Delete the base endpoint",
    ):
        assert states[state]["Parameters"] == {"EndpointName.$": "$.run.names.base_endpoint"}


def test_the_endpoint_poll_backs_off_to_the_configured_timeout(resolver_for):
    poll = state_machine_definition(resolver_for("dev"))["States"]
    schedule = poll["Start waiting for the evaluation endpoint"]["Parameters"]["schedule"]
    assert schedule == [30, 60, 120, 240, 300, 300, 300, 300, 300]
    assert poll["Start waiting for the base endpoint"]["Parameters"]["schedule"] == schedule
    assert sum(schedule[:-1]) < 30 * 60 <= sum(schedule)  # dev: endpoint_timeout_minutes 30


def test_the_local_endpoint_poll_starts_sooner(resolver_for):
    poll = state_machine_definition(resolver_for("local"))["States"]
    schedule = poll["Start waiting for the evaluation endpoint"]["Parameters"]["schedule"]
    assert schedule[:7] == [5, 10, 20, 40, 80, 160, 300]  # local: endpoint_poll_seconds 5
    assert sum(schedule[:-1]) < 30 * 60 <= sum(schedule)


def test_the_definition_is_valid_asl(tmp_path):
    """asl-validator (npm, pinned in package.json): types, dangling Next, unreachable states,
    JSONPath and intrinsic syntax, for every environment's definition at once."""
    assert_valid_asl(_definitions, tmp_path)


_definitions: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def _all_definitions(resolver_for):
    for env_name in ENVIRONMENTS:
        _definitions[env_name] = state_machine_definition(resolver_for(env_name))


def test_the_cost_step_sits_between_the_last_delete_and_the_outcome(definition):
    states = definition["States"]
    assert states["Clean up the base endpoint too?"]["Default"] == (
        "Clean up the champion endpoint too?"
    )
    assert states[LAST_BASE_DELETE]["Next"] == "Clean up the champion endpoint too?"
    assert states["Clean up the champion endpoint too?"]["Default"] == "Cost the run"
    assert states["Delete the champion model"]["Next"] == "Cost the run"
    cost = states["Cost the run"]
    assert cost["Next"] == "Did the run fail?"
    (catch,) = cost["Catch"]
    assert (catch["ErrorEquals"], catch["ResultPath"]) == (["States.ALL"], "$.cost")
    unavailable = states[catch["Next"]]
    assert (unavailable["ResultPath"], unavailable["Next"]) == ("$.cost", "Did the run fail?")
    # The outcome reads $.error and $.cleanup only: the cost never decides it.
    assert "$.cost" not in json.dumps(states["Did the run fail?"])
