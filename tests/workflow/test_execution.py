"""The synthesized state machine, executed by moto's interpreter against a SageMaker double.

Each scenario checks where the execution ended, the states it went through (cleanup on every
path past validation) and that no model, endpoint config or endpoint is left behind.
"""

from __future__ import annotations

import pytest

from tests.workflow.sagemaker_stub import SageMakerStub
from tests.workflow.sfn_harness import WorkflowRunner
from tests.workflow.template_values import validator_environment

CLEANUP = [
    "Look up the evaluation endpoint",
    "Delete the evaluation endpoint",
    "Delete the evaluation endpoint config",
    "Delete the evaluation model",
    "Did the run fail?",
]
NOTHING_LEFT = {"models": [], "endpoint_configs": [], "endpoints": []}


@pytest.fixture(scope="module")
def runner(moto_endpoint, local_definition, resolver_for):
    resolver = resolver_for("local")
    env = validator_environment(resolver)
    topic_id, _ = resolver.only("AWS::SNS::Topic")
    runner = WorkflowRunner(moto_endpoint, local_definition, env)
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


def test_happy_path_registers_the_model_and_cleans_up(runner, good_input):
    stub = _stub(runner, endpoint_statuses=["Creating", "Creating", "InService"], gate_value=0.8)
    execution = runner.run(good_input, stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.visited[:6] == [
        "Validate the input",
        "Prepare the data",
        "Train the model",
        "Create the evaluation model",
        "Create the evaluation endpoint config",
        "Create the evaluation endpoint",
    ]
    assert execution.visited.count("Check the endpoint status") == 3
    assert _after(execution.visited, "Evaluate the model")[:5] == [
        "Evaluate the model",
        "Read the evaluation report",
        "Is the evaluation report complete?",
        "Is the model good enough?",
        "Register the model",
    ]
    assert execution.visited[-3:] == [
        "Did the run fail?",
        "Notify about the success",
        "Run succeeded",
    ]
    assert all(state in execution.visited for state in CLEANUP)
    assert stub.left_running() == NOTHING_LEFT
    # Backoff: 30 s, then doubling; two polls found it Creating.
    assert execution.waits == [30, 60, 120]
    (package,) = stub.model_packages
    assert package["ModelApprovalStatus"] == "Approved"
    container = package["InferenceSpecification"]["Containers"][0]
    model_uri = container["ModelDataSource"]["S3DataSource"]["S3Uri"]
    assert model_uri.endswith("/runs/sql-demo/model/sql-demo-train/output/model/")
    assert package["CustomerMetadataProperties"]["metric_value"] == "0.8"
    (notification,) = execution.notifications
    assert notification["Subject"] == "Fine-tuning run sql-demo registered a model"
    assert "exact_match = 0.8 (threshold 0.5)" in notification["Message"]


def test_requests_carry_the_run_names_and_plan(runner, good_input):
    stub = _stub(runner)
    runner.run(good_input, stub)

    requests = dict(stub.calls)
    training = requests["CreateTrainingJob"]
    assert training["TrainingJobName"] == "sql-demo-train"
    assert training["HyperParameters"]["recipe"] == "lora"
    assert training["HyperParameters"]["num_train_epochs"] == "1"
    assert training["HyperParameters"]["packing"] == "true"
    assert training["HyperParameters"]["sagemaker_program"] == "train.py"
    assert [c["ChannelName"] for c in training["InputDataConfig"]] == [
        "train",
        "validation",
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
    schedule = local_definition["States"]["Start waiting for the endpoint"]["Parameters"][
        "schedule"
    ]
    # Still Creating for every poll and for two cleanup look-ups; then SageMaker gives up.
    stub = _stub(runner, endpoint_statuses=["Creating"] * (len(schedule) + 2) + ["Failed"])
    execution = runner.run(good_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "EvaluationEndpointTimeout"
    assert f"after {sum(schedule)} seconds" in execution.cause
    assert sum(schedule) >= 30 * 60  # the local config's endpoint_timeout_minutes
    assert execution.visited.count("Check the endpoint status") == len(schedule)
    assert execution.visited.count("Wait for the endpoint to settle") == 2
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


def test_invalid_input_fails_in_the_first_state_and_launches_nothing(runner, good_input):
    bad = {**good_input, "recipe": "lorax", "surprise": 1}
    del bad["base_model"]
    stub = _stub(runner)
    execution = runner.run(bad, stub)

    assert execution.status == "FAILED"
    assert execution.error == "InvalidInputError"
    for problem in ("base_model: is required", "recipe: must be one of", "surprise: unknown key"):
        assert problem in execution.cause
    assert execution.visited == [
        "Validate the input",
        "Report the rejected input",
        "Input rejected",
    ]
    assert stub.calls == []
    (notification,) = execution.notifications
    assert notification["MessageAttributes"]["status"]["Value"] == "REJECTED"
