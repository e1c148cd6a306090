"""The deployed state machine on the local cloud, end to end, with the tiny model.

The real CDK CLI deploys the `local` environment; the executions run the real data preparation,
training, local serving and evaluation code as SageMaker jobs and endpoints of the local cloud.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import run_to_end, sample_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A few optimizer steps and a handful of samples: this proves the plumbing, not the model.
FAST_TRAINING = {"max_steps": 2, "max_eval_samples": 4, "logging_steps": 1, "save_steps": 1}


def _objects(deployed, prefix: str) -> set[str]:
    listed = deployed.client("s3").list_objects_v2(Bucket=deployed.artifacts_bucket, Prefix=prefix)
    return {item["Key"][len(prefix) :] for item in listed.get("Contents", [])}


def _assert_nothing_left_running(deployed, run: str) -> None:
    """No endpoint, endpoint config or model of ``run`` (``-eval`` or ``-base``) is left."""
    sagemaker = deployed.client("sagemaker")
    endpoints = sagemaker.list_endpoints()["Endpoints"]
    assert [e["EndpointName"] for e in endpoints if e["EndpointName"].startswith(run)] == []
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [
        c["EndpointConfigName"] for c in configs if c["EndpointConfigName"].startswith(run)
    ] == []
    models = sagemaker.list_models()["Models"]
    assert [m["ModelName"] for m in models if m["ModelName"].startswith(run)] == []


def test_a_run_goes_from_raw_data_to_a_registered_model(deployed):
    run = "e2e-happy"
    data_uri = deployed.upload_records("datasets/happy.jsonl", sample_records(120))
    description, visited = run_to_end(
        deployed,
        run,
        {
            "base_model": deployed.base_model_uri,
            "dataset": {"s3_uri": data_uri},
            "recipe": "lora",
            "hyperparameters": FAST_TRAINING,
            # The random tiny model scores 0: a zero threshold lets it through the gate.
            "evaluation": {
                "metric": "exact_match",
                "threshold": 0.0,
                "max_samples": 4,
                "compare_with_base": True,
            },
        },
    )
    assert description["status"] == "SUCCEEDED", description.get("cause")
    for state in (
        "Validate the input",
        "Prepare the data",
        "Train the model",
        "Create the evaluation endpoint",
        "Create the base endpoint",
        "Check the base endpoint status",
        "Evaluate the model",
        "Register the model",
        "Delete the evaluation endpoint",
        "Delete the base endpoint",
        "Delete the base model",
        "Cost the run",
        "Run succeeded",
    ):
        assert state in visited, (state, visited)
    assert "Note that the cost is unavailable" not in visited
    assert visited.index("Train the model") < visited.index("Evaluate the model")
    assert visited.index("Check the base endpoint status") < visited.index("Evaluate the model")
    assert visited.index("Register the model") < visited.index("Delete the evaluation endpoint")

    prefix = f"runs/{run}/"
    files = _objects(deployed, prefix)
    for expected in (
        "data/stats.json",
        "data/train/train.jsonl",
        "data/validation/validation.jsonl",
        "data/test/test.jsonl",
        f"model/{run}-train/output/model/config.json",
        f"model/{run}-train/output/model/model.safetensors",
        f"model/{run}-train/output/model/tokenizer.json",
        "evaluation/report.json",
        "evaluation/predictions.jsonl",
        "evaluation/report.html",
        "cost.json",
    ):
        assert expected in files, (expected, sorted(files))
    assert any(f.startswith("checkpoints/") for f in files)

    s3 = deployed.client("s3")
    body = s3.get_object(Bucket=deployed.artifacts_bucket, Key=f"{prefix}evaluation/report.json")
    report = json.loads(body["Body"].read())
    assert report["gate"]["metric"] == "exact_match"
    assert report["gate"]["threshold"] == 0.0
    assert report["gate"]["passed"] is True
    assert report["samples"] == 4
    # The base model answered the same held-out samples on its own endpoint.
    assert report["baseline"]["source"] == f"{run}-base"
    assert report["baseline"]["metrics"]["samples"] == report["samples"]
    assert report["baseline"]["metrics"]["errors"] == 0
    assert set(report["baseline"]["metrics"]) == set(report["metrics"])
    # The cost, from the local cloud's own job and endpoint times at the table's prices.
    cost = report["cost"]
    assert cost["kind"] == "local estimate"
    stages = {stage["stage"]: stage for stage in cost["stages"]}
    assert list(stages) == [
        "preparation", "training", "evaluation endpoint", "base endpoint", "evaluation",
    ]  # fmt: skip
    assert all(stage["seconds"] > 0 and stage["usd"] > 0 for stage in stages.values())
    assert stages["training"]["billable_seconds"] == stages["training"]["training_seconds"]
    assert cost["total_usd"] == round(sum(stage["usd"] for stage in stages.values()), 2)
    page = s3.get_object(Bucket=deployed.artifacts_bucket, Key=f"{prefix}evaluation/report.html")
    assert '<section id="cost">' in page["Body"].read().decode()

    output = json.loads(description["output"])
    package_arn = output["registered"]["model_package_arn"]
    package = deployed.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
    # The package names the kept copy under models/, byte for byte what training wrote.
    trained = f"runs/{run}/model/{run}-train/output/model/"
    (container,) = package["InferenceSpecification"]["Containers"]
    kept_uri = container["ModelDataSource"]["S3DataSource"]["S3Uri"]
    assert kept_uri == f"s3://{deployed.artifacts_bucket}/models/{trained}"
    kept = _objects(deployed, f"models/{trained}")
    assert kept == _objects(deployed, trained) and "model.safetensors" in kept
    for name in ("config.json", "model.safetensors"):
        copies = [
            s3.get_object(Bucket=deployed.artifacts_bucket, Key=key)["Body"].read()
            for key in (f"{trained}{name}", f"models/{trained}{name}")
        ]
        assert copies[0] == copies[1], name
    _assert_nothing_left_running(deployed, run)


def test_bad_records_fail_the_run_with_their_line_and_launch_nothing_else(deployed):
    run = "e2e-bad-records"
    lines = sample_records(30)
    lines[2] = '{"question": "How many rows?", "context": "CREATE TABLE t (a INT)"'  # cut short
    lines[6] = json.dumps({"question": "What is a?", "context": "CREATE TABLE t (a INT)"})
    data_uri = deployed.upload_records("datasets/bad.jsonl", lines)
    description, visited = run_to_end(
        deployed,
        run,
        {
            "base_model": deployed.base_model_uri,
            "dataset": {"s3_uri": data_uri, "on_bad_record": "fail"},
            "recipe": "lora",
        },
    )
    assert description["status"] == "FAILED"
    assert "Prepare the data" in visited
    assert "Train the model" not in visited
    assert "Delete the evaluation endpoint" in visited
    assert visited[-1] == "Run failed"
    assert "bad.jsonl:3: not valid JSON" in description["cause"], description["cause"]
    jobs = deployed.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in jobs if j["TrainingJobName"].startswith(run)] == []
    _assert_nothing_left_running(deployed, run)

    # What `python -m cli follow` shows of this history: the job this run created, the job's
    # own failure reason, and the not-found answers of the name check and the cleanup as such.
    said, followed = _followed(deployed, description["executionArn"])
    assert list(followed) == [f"{run}-prepare"]
    (failure,) = [line for line in said if line.startswith("    ✗")]
    assert failure.startswith("    ✗ States.TaskFailed: ")
    assert "bad.jsonl:3: not valid JSON" in failure
    assert any(line.startswith("    · not found:") for line in said)


def _followed(deployed, execution_arn: str) -> tuple[list[str], dict]:
    """The lines ``cli follow`` prints for an execution's history, and the jobs it tails."""
    from cli.runs import Timeline, _history, _on_event

    said: list[str] = []
    jobs: dict = {}
    for event in _history(deployed.client("stepfunctions"), execution_arn):
        _on_event(event, {}, Timeline(), jobs, said.append)
    return said, jobs


def test_invalid_input_is_rejected_before_anything_launches(deployed):
    description, visited = run_to_end(
        deployed,
        "e2e-invalid",
        {"dataset": {"s3_uri": "s3://somewhere"}, "recipe": "lorax", "colour": "blue"},
    )
    assert description["status"] == "FAILED"
    assert visited[0] == "Validate the input"
    assert "Prepare the data" not in visited
    cause = description["cause"]
    for problem in ("base_model", "recipe", "colour"):
        assert problem in cause, cause
