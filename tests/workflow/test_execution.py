"""The synthesized state machine, executed by moto's interpreter against a SageMaker double.

Each scenario checks where the execution ended, the states it went through (cleanup on every
path past validation) and that no model, endpoint config or endpoint is left behind, with and
without the base model's endpoint (``evaluation.compare_with_base``).
"""

from __future__ import annotations

import json

import pytest

from tests.workflow.sagemaker_stub import MODEL_FILES, SageMakerStub
from tests.workflow.sfn_harness import WorkflowRunner, client
from tests.workflow.template_values import validator_environment

CLEANUP = [
    "Look up the evaluation endpoint",
    "Delete the evaluation endpoint",
    "Delete the evaluation endpoint config",
    "Delete the evaluation model",
    "Cost the run",
    "Did the run fail?",
]
BASE_DEPLOYMENT = [
    "Create the base model",
    "Create the base endpoint config",
    "Create the base endpoint",
]
BASE_CLEANUP = [
    "Look up the base endpoint",
    "Delete the base endpoint",
    "Delete the base endpoint config",
    "Delete the base model",
]
NOTHING_LEFT = {"models": [], "endpoint_configs": [], "endpoints": []}


@pytest.fixture(scope="module")
def runner(moto_endpoint, local_definition, resolver_for):
    resolver = resolver_for("local")
    env = validator_environment(resolver)
    topic_id, _ = resolver.only("AWS::SNS::Topic")
    cost_env = validator_environment(resolver, "RunCostFunction")
    runner = WorkflowRunner(moto_endpoint, local_definition, env, cost_env)
    with runner.patched_interpreter(), pytest.MonkeyPatch.context() as patch:
        # moto's interpreter sends aws-sdk calls (S3, SNS) to localhost:$MOTO_PORT.
        patch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
        runner.setup(
            topic_arn=resolver.resolve({"Ref": topic_id}),
            buckets=[env["ARTIFACTS_BUCKET"], env["DATA_BUCKET"]],
        )
        yield runner


@pytest.fixture
def good_input(runner) -> dict:
    data = runner.validator_env["DATA_BUCKET"]
    return {
        "run_name": "sql-demo",
        "base_model": f"s3://{data}/models/smollm2/",
        "dataset": {"s3_uri": f"s3://{data}/datasets/text_to_sql.jsonl"},
        "recipe": "lora",
        "hyperparameters": {"num_train_epochs": 1, "packing": True},
        "evaluation": {"metric": "exact_match", "threshold": 0.5, "max_samples": 20},
    }


def _stub(runner: WorkflowRunner, **knobs) -> SageMakerStub:
    return SageMakerStub(s3_endpoint=runner.endpoint, **knobs)


def _after(visited: list[str], state: str) -> list[str]:
    return visited[visited.index(state) :]


def _compared(execution_input: dict) -> dict:
    return {
        **execution_input,
        "evaluation": {**execution_input["evaluation"], "compare_with_base": True},
    }


def _base_calls(stub: SageMakerStub) -> list[tuple[str, dict]]:
    """The SageMaker calls that name the base model's resources."""
    return [(op, params) for op, params in stub.calls if "sql-demo-base" in str(params)]


def test_happy_path_registers_the_model_and_cleans_up(runner, good_input):
    stub = _stub(runner, endpoint_statuses=["Creating", "Creating", "InService"], gate_value=0.8)
    execution = runner.run(good_input, stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited[:16] == [
        "Validate the input",
        "Check that the run name is new",
        "Is the run name free?",  # the look-up said "Could not find": no earlier run
        "Prepare the data",
        "Train the model",
        "List the trained model's files",
        "Was a model written?",
        "Keep the trained model",
        *["Copy a model file"] * len(MODEL_FILES),
        "Use the kept model",
        "Compare with the champion?",
        "Create the evaluation model",
        "Create the evaluation endpoint config",
        "Create the evaluation endpoint",
    ]
    assert execution.visited.count("Check the evaluation endpoint status") == 3
    assert _after(execution.visited, "Evaluate the model")[:6] == [
        "Evaluate the model",
        "Read the evaluation report",
        "Is the evaluation report complete?",
        "Is the model good enough?",
        "Does the model beat the champion?",  # none compared: the threshold alone decides
        "Register the model",
    ]
    assert execution.visited[-3:] == [
        "Did the run fail?",
        "Notify about the success",
        "Run succeeded",
    ]
    assert all(state in execution.visited for state in CLEANUP)
    assert stub.left_running() == NOTHING_LEFT
    # Backoff: 5 s (the local config's endpoint_poll_seconds), then doubling; two polls found it
    # Creating.
    assert execution.waits == [5, 10, 20]
    # compare_with_base is off by default: one endpoint, nothing named for the base model.
    assert [s for s in execution.visited if "base" in s] == [
        "Deploy the base model too?",
        "Wait for the base endpoint too?",
        "Clean up the base endpoint too?",
    ]
    # Nor with a champion (compare_with is none in the local config): no look-up.
    assert [s for s in execution.visited if "champion" in s] == [
        "Compare with the champion?",
        "Deploy the champion too?",
        "Wait for the champion endpoint too?",
        "Does the model beat the champion?",
        "Clean up the champion endpoint too?",
    ]
    assert "ListModelPackages" not in stub.operations()
    assert _base_calls(stub) == []
    assert stub.operations().count("CreateEndpoint") == 1
    (package,) = stub.model_packages
    assert package["ModelApprovalStatus"] == "Approved"
    container = package["InferenceSpecification"]["Containers"][0]
    # What is evaluated and registered is the kept copy, under models/, which no job can write.
    model_uri = container["ModelDataSource"]["S3DataSource"]["S3Uri"]
    kept = "models/runs/sql-demo/model/sql-demo-train/output/model/"
    assert model_uri.endswith(f"/{kept}")
    (evaluation_model,) = [p for op, p in stub.calls if op == "CreateModel"]
    assert evaluation_model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == (
        model_uri
    )
    s3 = client("s3", runner.endpoint)
    bucket = model_uri.removeprefix("s3://").split("/")[0]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=kept)["Contents"]
    assert sorted(o["Key"].removeprefix(kept) for o in listed) == sorted(MODEL_FILES)
    body = s3.get_object(Bucket=bucket, Key=f"{kept}config.json")["Body"].read()
    assert body == b"config.json"  # the trained file's bytes
    assert package["CustomerMetadataProperties"]["metric_value"] == "0.8"
    (notification,) = execution.notifications
    assert notification["Subject"] == "Fine-tuning run sql-demo registered a model"
    assert "exact_match = 0.8 (threshold 0.5)" in notification["Message"]


def test_requests_carry_the_run_names_and_plan(runner, good_input):
    stub = _stub(runner)
    execution = runner.run(good_input, stub)

    requests = dict(stub.calls)
    # The run's first job names the execution that started it (the stopped-run cleanup's check).
    first_job = stub.jobs["sql-demo-prepare"]["params"]
    assert first_job["Environment"]["STARTED_BY_EXECUTION"] == execution.arn
    assert execution.arn.startswith("arn:aws:states:")
    training = requests["CreateTrainingJob"]
    assert training["TrainingJobName"] == "sql-demo-train"
    assert training["HyperParameters"]["recipe"] == "lora"
    assert training["HyperParameters"]["num_train_epochs"] == "1"
    assert training["HyperParameters"]["packing"] == "true"
    assert training["HyperParameters"]["sagemaker_program"] == "train.py"
    assert [c["ChannelName"] for c in training["InputDataConfig"]] == [
        "train",
        "validation",
        "code",
        "wheels",
        "model",
    ]
    assert training["OutputDataConfig"]["CompressionType"] == "NONE"
    assert training["CheckpointConfig"]["S3Uri"].endswith("/runs/sql-demo/checkpoints/")
    prepare = requests["CreateProcessingJob"]  # the last one: the evaluation
    assert prepare["ProcessingJobName"] == "sql-demo-evaluate"
    arguments = prepare["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--endpoint-name") + 1] == "sql-demo-eval"
    assert requests["CreateEndpoint"]["EndpointName"] == "sql-demo-eval"


def test_a_training_failure_cleans_up_and_fails_with_the_reason(runner, good_input):
    stub = _stub(runner, failing_jobs={"-train": "AlgorithmError: CUDA out of memory"})
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"
    assert "CUDA out of memory" in execution.cause
    assert _after(execution.visited, "Train the model")[1:2] == ["Look up the evaluation endpoint"]
    assert all(state in execution.visited for state in CLEANUP)
    assert "Look up the base endpoint" not in execution.visited
    assert execution.visited[-2:] == ["Notify about the failure", "Run failed"]
    assert "CreateEndpoint" not in stub.operations()
    assert stub.left_running() == NOTHING_LEFT
    (notification,) = execution.notifications
    assert notification["Subject"] == "Fine-tuning run sql-demo failed"
    assert notification["MessageAttributes"]["status"]["Value"] == "FAILED"


@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        ("Failed", "EvaluationEndpointFailed", "did not pass the ping health check"),
        ("OutOfService", "EvaluationEndpointUnavailable", "sql-demo-eval is OutOfService"),
    ],
)
def test_an_endpoint_that_fails_is_deleted(runner, good_input, status, error, says):
    stub = _stub(runner, endpoint_statuses=["Creating", status])
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == error
    assert says in execution.cause
    assert "Evaluate the model" not in execution.visited
    assert all(state in execution.visited for state in CLEANUP)
    assert ("DeleteEndpoint", {"EndpointName": "sql-demo-eval"}) in stub.calls
    assert stub.left_running() == NOTHING_LEFT


def test_an_endpoint_that_never_starts_times_out_and_is_deleted_once_settled(
    runner, good_input, local_definition
):
    schedule = local_definition["States"]["Start waiting for the evaluation endpoint"][
        "Parameters"
    ]["schedule"]
    # Still Creating for every poll and for two cleanup look-ups; then SageMaker gives up.
    stub = _stub(runner, endpoint_statuses=["Creating"] * (len(schedule) + 2) + ["Failed"])
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "EvaluationEndpointTimeout"
    assert f"after {sum(schedule)} seconds" in execution.cause
    assert sum(schedule) >= 30 * 60  # the local config's endpoint_timeout_minutes
    assert execution.visited.count("Check the evaluation endpoint status") == len(schedule)
    assert execution.visited.count("Wait for the evaluation endpoint to settle") == 2
    assert execution.waits == [*schedule, 60, 60]
    assert all(state in execution.visited for state in CLEANUP)
    assert stub.left_running() == NOTHING_LEFT


@pytest.mark.parametrize(
    ("value", "error"), [(0.2, "QualityGateFailed"), (None, "EvaluationReportIncomplete")]
)
def test_a_model_below_the_gate_is_not_registered(runner, good_input, value, error):
    stub = _stub(runner, gate_value=value)
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == error
    if value is not None:
        assert "exact_match = 0.2 is below the threshold 0.5" in execution.cause
    assert "Register the model" not in execution.visited
    assert stub.model_packages == []
    assert all(state in execution.visited for state in CLEANUP)
    assert stub.left_running() == NOTHING_LEFT


def test_compared_with_base_both_endpoints_serve_and_both_are_deleted(runner, good_input):
    stub = _stub(
        runner,
        endpoint_statuses=["Creating", "InService"],
        statuses_by_suffix={"-base": ["Creating", "InService"]},
    )
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    deployment = _after(execution.visited, "Create the evaluation model")[:12]
    assert deployment == [
        "Create the evaluation model",
        "Create the evaluation endpoint config",
        "Create the evaluation endpoint",
        "Deploy the base model too?",
        *BASE_DEPLOYMENT,
        "Deploy the champion too?",
        "Start waiting for the evaluation endpoint",
        "Wait for the evaluation endpoint",
        "Check the evaluation endpoint status",
        "Is the evaluation endpoint in service?",
    ]
    before_evaluation = execution.visited[: execution.visited.index("Evaluate the model")]
    assert before_evaluation.count("Check the evaluation endpoint status") == 2
    assert before_evaluation.count("Check the base endpoint status") == 2
    # The evaluation endpoint's poll, then the base endpoint's, each on its own schedule.
    assert execution.waits == [5, 10, 5, 10]
    assert execution.visited.index("Delete the evaluation model") < execution.visited.index(
        "Look up the base endpoint"
    )
    assert all(state in execution.visited for state in CLEANUP + BASE_CLEANUP)
    assert execution.visited[-2:] == ["Notify about the success", "Run succeeded"]
    assert stub.left_running() == NOTHING_LEFT

    requests = {(op, params.get("ModelName")): params for op, params in stub.calls}
    base = requests[("CreateModel", "sql-demo-base")]["PrimaryContainer"]
    assert base["ModelDataSource"]["S3DataSource"] == {
        "S3Uri": good_input["base_model"],
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
    fine_tuned = requests[("CreateModel", "sql-demo-eval")]["PrimaryContainer"]
    assert base["Image"] == fine_tuned["Image"]
    assert base["Environment"] == fine_tuned["Environment"]
    created = [p["EndpointName"] for op, p in stub.calls if op == "CreateEndpoint"]
    assert created == ["sql-demo-eval", "sql-demo-base"]
    (evaluate,) = [p for op, p in stub.calls if op == "CreateProcessingJob"][1:]
    arguments = evaluate["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--endpoint-name") + 1] == "sql-demo-eval"
    assert arguments[arguments.index("--baseline-endpoint-name") + 1] == "sql-demo-base"
    assert ("DeleteModel", {"ModelName": "sql-demo-base"}) in stub.calls
    assert ("DeleteEndpointConfig", {"EndpointConfigName": "sql-demo-base"}) in stub.calls


def test_a_run_name_an_earlier_run_holds_starts_nothing_and_deletes_nothing(runner, good_input):
    # The earlier run of that name is still evaluating on its endpoint.
    stub = _stub(runner)
    stub.jobs["sql-demo-prepare"] = {"params": {}, "status": "Completed", "reason": None}
    stub.models.add("sql-demo-eval")
    stub.endpoint_configs.add("sql-demo-eval")
    stub.endpoints["sql-demo-eval"] = ["InService"]
    before = stub.left_running()
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "RunNameInUse"
    assert "sql-demo is the name of an earlier run (its job sql-demo-prepare exists" in (
        execution.cause
    )
    assert execution.visited == [
        "Validate the input",
        "Check that the run name is new",
        "The run name is taken",
        "Report the rejected input",
        "Input rejected",
    ]
    assert stub.operations() == ["DescribeProcessingJob"]
    assert stub.left_running() == before  # the earlier run's endpoint is untouched


def test_a_failure_while_the_base_endpoint_starts_deletes_both_once_settled(runner, good_input):
    # The evaluation endpoint fails; the base endpoint is still Creating for two look-ups.
    stub = _stub(
        runner,
        endpoint_statuses=["Creating", "Failed"],
        statuses_by_suffix={"-base": ["Creating", "Creating", "InService"]},
    )
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "FAILED"
    assert execution.error == "EvaluationEndpointFailed"
    assert "sql-demo-eval is Failed" in execution.cause
    assert "Evaluate the model" not in execution.visited
    assert "Check the base endpoint status" not in execution.visited
    assert execution.visited.count("Wait for the base endpoint to settle") == 2
    assert execution.waits == [5, 10, 60, 60]
    assert all(state in execution.visited for state in CLEANUP + BASE_CLEANUP)
    assert ("DeleteEndpoint", {"EndpointName": "sql-demo-base"}) in stub.calls
    assert stub.left_running() == NOTHING_LEFT
    (notification,) = execution.notifications
    assert "base_endpoint" in notification["Message"]  # the cleanup's outcome, both endpoints


@pytest.mark.parametrize(
    ("statuses", "error", "says"),
    [
        (["Creating", "Failed"], "BaseEndpointFailed", "base endpoint sql-demo-base is Failed"),
        (["OutOfService"], "BaseEndpointUnavailable", "sql-demo-base is OutOfService"),
    ],
)
def test_a_base_endpoint_that_fails_stops_the_run_and_both_are_deleted(
    runner, good_input, statuses, error, says
):
    stub = _stub(runner, statuses_by_suffix={"-base": statuses})
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "FAILED"
    assert execution.error == error
    assert says in execution.cause
    assert "Check the base endpoint status" in execution.visited
    assert "Evaluate the model" not in execution.visited
    assert all(state in execution.visited for state in CLEANUP + BASE_CLEANUP)
    assert stub.left_running() == NOTHING_LEFT


def test_a_compared_run_that_fails_before_deploying_still_tries_the_base_deletes(
    runner, good_input
):
    stub = _stub(runner, failing_jobs={"-train": "AlgorithmError: CUDA out of memory"})
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"  # the training failure, not the deletes
    assert all(state in execution.visited for state in CLEANUP + BASE_CLEANUP)
    # Each not-found is retried like any failed delete, then recorded.
    assert list(dict.fromkeys(op for op, _ in _base_calls(stub))) == [
        "DescribeEndpoint",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    assert stub.left_running() == NOTHING_LEFT


def test_invalid_input_fails_in_the_first_state_and_launches_nothing(runner, good_input):
    bad = {**good_input, "recipe": "lorax", "surprise": 1}
    del bad["base_model"]
    stub = _stub(runner)
    execution = runner.run(bad, stub)

    assert execution.status == "FAILED"
    assert execution.error == "InvalidInputError"
    # The list a person reads, not the Lambda's JSON error payload with its stack trace.
    assert execution.cause.startswith("The execution input is not valid (contract: docs/")
    for problem in ("base_model: is required", "recipe: must be one of", "surprise: unknown key"):
        assert f"\n- {problem}" in execution.cause
    assert "stackTrace" not in execution.cause
    assert execution.visited == [
        "Validate the input",
        "Read the validation error",
        "Read the listed problems",
        "Report the rejected input",
        "Input rejected",
    ]
    assert stub.calls == []
    (notification,) = execution.notifications
    assert notification["MessageAttributes"]["status"]["Value"] == "REJECTED"
    assert execution.cause in notification["Message"]


# Transient and partial failures (AWS's catch rules: States.ALL never catches States.Runtime).


def test_a_failed_endpoint_without_a_reason_is_still_cleaned_up_and_reported(runner, good_input):
    """FailureReason is optional in DescribeEndpoint: reading a missing path would raise
    States.Runtime, which no Catch catches, and leave the base endpoint running."""
    stub = _stub(
        runner,
        endpoint_statuses=["Creating", "Failed"],
        statuses_by_suffix={"-base": ["InService"]},
        omit_failure_reason=True,
    )
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "FAILED"
    assert execution.error == "EvaluationEndpointFailed"
    assert execution.cause == (
        "The evaluation endpoint sql-demo-eval is Failed; SageMaker gave no reason (see its "
        "CloudWatch logs)"
    )
    assert stub.left_running() == NOTHING_LEFT
    assert len(execution.notifications) == 1


def test_a_throttled_run_name_check_is_retried_and_still_finds_the_earlier_run(runner, good_input):
    stub = _stub(runner, throttled={"sql-demo-prepare": 1})
    stub.run_started("sql-demo", "arn:aws:states:us-east-1:123456789012:execution:t:earlier")
    stub.left_behind("sql-demo-eval")  # the earlier run, still evaluating
    execution = runner.run(good_input, stub)

    assert execution.error == "RunNameInUse", (execution.error, execution.cause)
    assert stub.operations() == ["DescribeProcessingJob"] * 2
    assert stub.left_running()["endpoints"] == ["sql-demo-eval"]


def test_a_run_name_check_that_cannot_tell_starts_nothing_and_deletes_nothing(runner, good_input):
    """Going on could reuse an earlier run's names, whose endpoints the cleanup would delete."""
    stub = _stub(runner, throttled={"sql-demo-prepare": 10})
    stub.run_started("sql-demo", "arn:aws:states:us-east-1:123456789012:execution:t:earlier")
    stub.left_behind("sql-demo-eval")
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "RunNameCheckFailed"
    assert "Could not tell whether run_name sql-demo is free" in execution.cause
    assert "Rate exceeded" in execution.cause
    assert execution.visited[-3:] == [
        "Record the failed run-name check",
        "Report the run that did not start",
        "Run not started",
    ]
    assert set(stub.operations()) == {"DescribeProcessingJob"}
    assert stub.left_running()["endpoints"] == ["sql-demo-eval"]
    (notification,) = execution.notifications
    assert notification["Subject"] == "Fine-tuning execution did not start: RunNameCheckFailed"


def test_a_validation_that_breaks_is_not_reported_as_a_bad_input(runner, good_input, monkeypatch):
    import validate_input

    def broken(run, settings):
        raise MemoryError("the function ran out of memory")

    monkeypatch.setattr(validate_input, "plan", broken)
    stub = _stub(runner)
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "MemoryError"
    assert execution.visited == [
        "Validate the input",
        "Report the run that did not start",
        "Run not started",
    ]
    (notification,) = execution.notifications
    assert "not because of its input: MemoryError" in notification["Message"]
    assert stub.calls == []


def test_a_cleanup_look_up_that_is_throttled_still_waits_for_a_starting_endpoint(
    runner, good_input
):
    """The evaluation endpoint fails while the base one starts; the cleanup's first look-up of
    the base endpoint (the first call naming it) is throttled: retried, it sees Creating and
    waits, instead of trying to delete an endpoint SageMaker will not delete yet."""
    stub = _stub(
        runner,
        endpoint_statuses=["Creating", "Failed"],
        statuses_by_suffix={"-base": ["Creating"] * 4 + ["InService"]},
        throttled={"sql-demo-base": 1},
    )
    execution = runner.run(_compared(good_input), stub)

    assert execution.error == "EvaluationEndpointFailed", (execution.error, execution.cause)
    assert stub.throttled == {"sql-demo-base": 0}
    assert "Wait for the base endpoint to settle" in execution.visited
    assert stub.left_running() == NOTHING_LEFT


def test_a_registration_whose_answer_was_lost_registers_one_version(runner, good_input):
    stub = _stub(runner, lost_register_answers=1)
    execution = runner.run(good_input, stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert len(stub.model_packages) == 1
    assert execution.output["registered"]["model_package_arn"].endswith("/1")


def test_a_failed_run_whose_cleanup_also_fails_says_both(runner, good_input):
    stub = _stub(
        runner,
        endpoint_statuses=["Creating", "Failed"],
        refused_deletes={"sql-demo-eval"},
    )
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "CleanupFailed"
    assert execution.cause.startswith("The run failed (EvaluationEndpointFailed: The evaluation")
    assert "not authorized to perform: sagemaker:DeleteEndpoint" in execution.cause


def _message(execution, status: str) -> str:
    (message,) = [
        n["Message"]
        for n in execution.notifications
        if n["MessageAttributes"]["status"]["Value"] == status
    ]
    return message


def _s3_json(runner: WorkflowRunner, key: str) -> dict:
    s3 = client("s3", runner.endpoint)
    body = s3.get_object(Bucket=runner.validator_env["ARTIFACTS_BUCKET"], Key=key)["Body"]
    return json.loads(body.read())


def test_a_successful_run_is_costed_after_its_cleanup_and_before_its_notification(
    runner, good_input
):
    stub = _stub(runner, gate_value=0.8)
    execution = runner.run(_compared(good_input), stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    after_cleanup = _after(execution.visited, "Delete the base model")
    assert after_cleanup[1:5] == [
        "Clean up the champion endpoint too?",
        "Cost the run",
        "Did the run fail?",
        "Notify about the success",
    ]
    assert "Note that the cost is unavailable" not in execution.visited
    cost = _s3_json(runner, "runs/sql-demo/cost.json")
    stages = {stage["stage"]: stage for stage in cost["stages"]}
    assert list(stages) == [
        "preparation", "training", "evaluation endpoint", "base endpoint", "evaluation",
    ]  # fmt: skip
    # The stub's jobs run 600 s on the local config's instances (ml.m5.xlarge, ml.g5.2xlarge).
    assert stages["training"]["seconds"] == 600 and stages["training"]["instance_count"] == 1
    assert stages["preparation"]["instance_type"] == "ml.m5.xlarge"
    assert cost["kind"] == "local estimate"
    assert cost["total_usd"] == round(sum(s["usd"] for s in cost["stages"]), 2) > 0
    assert _s3_json(runner, "runs/sql-demo/evaluation/report.json")["cost"] == cost
    assert f"Cost: USD {cost['total_usd']:.2f}" in _message(execution, "SUCCEEDED")
    assert stub.left_running() == NOTHING_LEFT


def test_a_failed_run_is_costed_for_what_it_ran(runner, good_input):
    stub = _stub(runner, failing_jobs={"-train": "AlgorithmError: CUDA out of memory"})
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert "CUDA out of memory" in execution.cause
    assert _after(execution.visited, "Cost the run")[:2] == ["Cost the run", "Did the run fail?"]
    assert "Note that the cost is unavailable" not in execution.visited
    message = _message(execution, "FAILED")
    assert "Cost: USD " in message and "training" in message
    assert "evaluation endpoint" not in message.split("Cost:")[1]  # never created


def test_a_failing_cost_step_changes_nothing_but_the_cost_line(runner, good_input):
    runner.cost_error = RuntimeError("the price table is unreadable")
    try:
        execution = runner.run(good_input, _stub(runner, gate_value=0.8))
    finally:
        runner.cost_error = None

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert _after(execution.visited, "Cost the run")[:3] == [
        "Cost the run",
        "Note that the cost is unavailable",
        "Did the run fail?",
    ]
    assert "Cost: cost unavailable: RuntimeError: " in _message(execution, "SUCCEEDED")


def test_a_failing_cost_step_leaves_a_failed_run_failed_with_its_own_cause(runner, good_input):
    runner.cost_error = RuntimeError("no prices")
    try:
        stub = _stub(runner, failing_jobs={"-prepare": "ClientError: bad records"})
        execution = runner.run(good_input, stub)
    finally:
        runner.cost_error = None

    assert execution.status == "FAILED"
    assert "bad records" in execution.cause
    assert "Note that the cost is unavailable" in execution.visited
    assert "cost unavailable" in _message(execution, "FAILED")
