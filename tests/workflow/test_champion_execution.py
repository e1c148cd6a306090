"""The champion gate, executed: ``evaluation.compare_with: champion`` against the SageMaker double.

The champion is the newest Approved package of the environment's model package group (the local
config's ``evaluation.champion`` is ``registry``). Each scenario checks how the execution ended,
that the champion had its own endpoint, and that no model, endpoint config or endpoint is left.
"""

from __future__ import annotations

import pytest

from tests.workflow.sagemaker_stub import SageMakerStub
from tests.workflow.test_execution import (  # noqa: F401
    NOTHING_LEFT,
    _s3_json,
    good_input,
    runner,
)

GROUP = "llm-finetune-local"
CHAMPION_DEPLOYMENT = [
    "Create the champion model",
    "Create the champion endpoint config",
    "Create the champion endpoint",
]
CHAMPION_CLEANUP = [
    "Look up the champion endpoint",
    "Delete the champion endpoint",
    "Delete the champion endpoint config",
    "Delete the champion model",
]


@pytest.fixture
def champion_input(good_input) -> dict:  # noqa: F811
    return {
        **good_input,
        "evaluation": {**good_input["evaluation"], "compare_with": "champion"},
    }


def _stub(runner, **knobs) -> SageMakerStub:  # noqa: F811
    return SageMakerStub(s3_endpoint=runner.endpoint, **knobs)


def _kept(runner, run: str) -> str:  # noqa: F811
    bucket = runner.validator_env["ARTIFACTS_BUCKET"]
    return f"s3://{bucket}/models/runs/{run}/model/{run}-train/output/model/"


def _arguments(stub: SageMakerStub) -> list[str]:
    (evaluate,) = [p for op, p in stub.calls if op == "CreateProcessingJob"][1:]
    return evaluate["AppSpecification"]["ContainerArguments"]


def _created(stub: SageMakerStub, operation: str, key: str) -> list[str]:
    return [params[key] for op, params in stub.calls if op == operation]


def test_a_champion_that_scores_higher_fails_the_run_as_champion_not_beaten(
    runner,  # noqa: F811
    champion_input,
):
    stub = _stub(runner, gate_value=0.6, champion_value=0.7)
    arn = stub.approved_package(GROUP, _kept(runner, "earlier"))
    execution = runner.run(champion_input, stub)

    assert execution.status == "FAILED"
    assert execution.error == "ChampionNotBeaten"
    assert "exact_match = 0.6 does not beat the champion" in execution.cause
    assert arn in execution.cause
    assert "its exact_match is 0.7, and min_improvement 0.0 asks for at least 0.7" in (
        execution.cause
    )
    assert "Register the model" not in execution.visited
    assert len(stub.model_packages) == 1  # the champion only: nothing registered
    assert all(state in execution.visited for state in CHAMPION_DEPLOYMENT + CHAMPION_CLEANUP)
    assert stub.left_running() == NOTHING_LEFT
    (message,) = execution.notifications
    assert "ChampionNotBeaten" in message["Message"]


def test_a_candidate_that_beats_the_champion_by_min_improvement_is_registered(
    runner,  # noqa: F811
    champion_input,
):
    stub = _stub(runner, gate_value=0.8, champion_value=0.7)
    champion = _kept(runner, "earlier")
    arn = stub.approved_package(GROUP, champion)
    # A newer version that is not approved is no champion.
    stub.model_packages.append({**stub.model_packages[0], "ModelApprovalStatus": "Rejected"})
    compared = {
        **champion_input,
        "evaluation": {**champion_input["evaluation"], "min_improvement": 0.05},
    }
    execution = runner.run(compared, stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    visited = execution.visited
    start = visited.index("Compare with the champion?")
    assert visited[start : start + 11] == [
        "Compare with the champion?",
        "Find the champion",
        "Is there a champion?",
        "Take the newest approved package",
        "Read the champion",
        "Does the champion have a container?",
        "Read the champion's container",
        "Does the champion have an S3 model?",
        "Keep the champion's model",
        "Evaluate against the champion",
        "Create the evaluation model",
    ]
    # Found before any endpoint is created; deployed after the evaluation endpoint.
    deploy = visited.index("Deploy the champion too?")
    assert visited[deploy + 1] == "Create the champion model"
    assert visited.index("Create the evaluation endpoint") < deploy
    assert visited.index("Check the champion endpoint status") < visited.index("Evaluate the model")
    (listed,) = [p for op, p in stub.calls if op == "ListModelPackages"]
    assert listed == {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }
    assert ("DescribeModelPackage", {"ModelPackageName": arn}) in stub.calls
    (model,) = [p for op, p in stub.calls if op == "CreateModel" and "champion" in p["ModelName"]]
    assert model["ModelName"] == "sql-demo-champion"
    assert model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == champion
    arguments = _arguments(stub)
    assert arguments[arguments.index("--champion-endpoint-name") + 1] == "sql-demo-champion"
    assert arguments[arguments.index("--min-improvement") + 1] == "0.05"
    assert "--no-champion" not in arguments
    assert _created(stub, "CreateEndpoint", "EndpointName") == [
        "sql-demo-eval",
        "sql-demo-champion",
    ]
    assert all(state in visited for state in CHAMPION_CLEANUP)
    assert len(stub.model_packages) == 3  # registered after the gate
    cost = _s3_json(runner, "runs/sql-demo/cost.json")
    assert [stage["stage"] for stage in cost["stages"]] == [
        "preparation", "training", "evaluation endpoint", "champion endpoint", "evaluation",
    ]  # fmt: skip
    assert stub.left_running() == NOTHING_LEFT


def test_below_min_improvement_the_champion_still_wins(runner, champion_input):  # noqa: F811
    stub = _stub(runner, gate_value=0.72, champion_value=0.7)
    stub.approved_package(GROUP, _kept(runner, "earlier"))
    compared = {
        **champion_input,
        "evaluation": {**champion_input["evaluation"], "min_improvement": 0.05},
    }
    execution = runner.run(compared, stub)

    assert execution.error == "ChampionNotBeaten", execution.cause
    assert "asks for at least 0.75" in execution.cause
    assert stub.left_running() == NOTHING_LEFT


def test_without_a_champion_the_threshold_alone_decides(runner, champion_input):  # noqa: F811
    stub = _stub(runner, gate_value=0.8)
    execution = runner.run(champion_input, stub)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert "Note that there is no champion" in execution.visited
    assert "Read the champion" not in execution.visited
    assert not any("Create the champion" in state for state in execution.visited)
    assert not any(state in execution.visited for state in CHAMPION_CLEANUP)
    arguments = _arguments(stub)
    assert "--no-champion" in arguments
    assert "--champion-endpoint-name" not in arguments
    assert _created(stub, "CreateEndpoint", "EndpointName") == ["sql-demo-eval"]
    assert len(stub.model_packages) == 1
    assert stub.left_running() == NOTHING_LEFT


def test_a_failed_champion_endpoint_fails_the_run_and_everything_is_deleted(
    runner,  # noqa: F811
    champion_input,
):
    stub = _stub(runner, statuses_by_suffix={"-champion": ["Creating", "Failed"]})
    stub.approved_package(GROUP, _kept(runner, "earlier"))
    compared = {
        **champion_input,
        "evaluation": {**champion_input["evaluation"], "compare_with": ["base", "champion"]},
    }
    execution = runner.run(compared, stub)

    assert execution.status == "FAILED"
    assert execution.error == "ChampionEndpointFailed"
    assert "The champion endpoint sql-demo-champion is Failed" in execution.cause
    assert "Evaluate the model" not in execution.visited
    assert _created(stub, "CreateEndpoint", "EndpointName") == [
        "sql-demo-eval",
        "sql-demo-base",
        "sql-demo-champion",
    ]
    assert all(state in execution.visited for state in CHAMPION_CLEANUP)
    assert stub.left_running() == NOTHING_LEFT


def test_a_champion_with_no_s3_model_prefix_fails_cleanly(runner, champion_input):  # noqa: F811
    stub = _stub(runner)
    arn = stub.approved_package(GROUP, _kept(runner, "earlier"), container=False)
    execution = runner.run(champion_input, stub)

    assert execution.error == "ChampionUnusable"
    assert arn in execution.cause
    # Found unusable before any endpoint was created: no GPU time spent on it.
    assert not any(state.startswith("Create the") for state in execution.visited)
    assert "Look up the evaluation endpoint" in execution.visited
    assert stub.left_running() == NOTHING_LEFT


def test_a_report_without_the_champions_bar_fails_the_gate(runner, champion_input):  # noqa: F811
    stub = _stub(runner, champion_value=None)
    stub.approved_package(GROUP, _kept(runner, "earlier"))
    execution = runner.run(champion_input, stub)

    assert execution.error == "EvaluationReportIncomplete"
    assert "gate.champion.bar" in execution.cause
    assert stub.left_running() == NOTHING_LEFT


def test_a_champion_endpoint_that_never_starts_times_out_and_is_deleted_once_settled(
    runner,  # noqa: F811
    champion_input,
    local_definition,
):
    schedule = local_definition["States"]["Start waiting for the champion endpoint"]["Parameters"][
        "schedule"
    ]
    # Still Creating for every poll and one cleanup look-up; then SageMaker gives up.
    stub = _stub(
        runner, statuses_by_suffix={"-champion": ["Creating"] * (len(schedule) + 1) + ["Failed"]}
    )
    stub.approved_package(GROUP, _kept(runner, "earlier"))
    execution = runner.run(champion_input, stub)

    assert execution.error == "ChampionEndpointTimeout"
    assert f"The champion endpoint sql-demo-champion was still Creating after {sum(schedule)}" in (
        execution.cause
    )
    assert execution.visited.count("Wait for the champion endpoint to settle") == 1
    assert "Evaluate the model" not in execution.visited
    assert stub.left_running() == NOTHING_LEFT
