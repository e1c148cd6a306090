"""The cost step's function: describe what the run ran, price it, record it."""

from __future__ import annotations

import dataclasses
import io
import json
import types
from datetime import UTC, datetime, timedelta

import pytest
import run_cost
from botocore.exceptions import ClientError

from costs.estimate import RunResources

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RESOURCES = RunResources(
    region="us-east-1",
    training_instance_type="ml.g5.2xlarge",
    training_instance_count=1,
    training_max_runtime_s=7200,
    use_spot=True,
    processing_instance_type="ml.m5.xlarge",
    processing_max_runtime_s=3600,
    endpoint_instance_type="ml.g5.xlarge",
    endpoint_wait_s=1800,
)
NAMES = {
    "prepare_job": "r-prepare",
    "training_job": "r-train",
    "evaluation_job": "r-evaluate",
}


def _missing(operation: str) -> ClientError:
    error = {"Code": "ValidationException", "Message": "Could not find requested job"}
    return ClientError({"Error": error}, operation)


class SageMaker:
    """Describe* answers as boto3 returns them (datetimes), for the jobs that exist."""

    def __init__(self, jobs: set[str]) -> None:
        self.jobs = jobs

    def describe_processing_job(self, ProcessingJobName: str) -> dict:
        if ProcessingJobName not in self.jobs:
            raise _missing("DescribeProcessingJob")
        minutes = 10 if ProcessingJobName.endswith("-prepare") else 30
        return {
            "ProcessingJobName": ProcessingJobName,
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
            },
            "ProcessingStartTime": T0,
            "ProcessingEndTime": T0 + timedelta(minutes=minutes),
        }

    def describe_training_job(self, TrainingJobName: str) -> dict:
        if TrainingJobName not in self.jobs:
            raise _missing("DescribeTrainingJob")
        return {
            "TrainingJobName": TrainingJobName,
            "ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1},
            "EnableManagedSpotTraining": True,
            "TrainingTimeInSeconds": 3600,
            "BillableTimeInSeconds": 1440,
        }


class S3:
    def __init__(self, objects: dict[str, str]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict:
        return {"Body": io.BytesIO(self.objects[f"{Bucket}/{Key}"].encode())}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict:
        self.objects[f"{Bucket}/{Key}"] = Body.decode()
        return {}


def _state(evaluated: bool, endpoint_created: str | None) -> dict:
    state = {
        "run": {
            "run_name": "r",
            "names": NAMES,
            "report": {"bucket": "b", "key": "runs/r/evaluation/report.json"},
        },
        "cleanup": {"lookup": {"status": "InService", "created": endpoint_created}}
        if endpoint_created
        else {"lookup": {"Error": "SageMaker.SageMakerException", "Cause": "Could not find"}},
    }
    if evaluated:
        state["evaluation"] = {"report": {"gate": {"value": 0.8}}}
    return state


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("RUN_RESOURCES", json.dumps(dataclasses.asdict(RESOURCES)))
    monkeypatch.setenv("LOCAL_CLOUD", "false")


def test_a_finished_run_is_priced_per_stage_and_recorded_everywhere(environment):
    s3 = S3(
        {
            "b/runs/r/evaluation/report.json": '{"gate": {"value": 0.8}}',
            "b/runs/r/evaluation/report.html": "<html><body><h1>r</h1></body></html>",
        }
    )
    clients = types.SimpleNamespace(
        sagemaker=SageMaker({"r-prepare", "r-train", "r-evaluate"}), s3=s3
    )
    event = {"state": _state(True, "2026-12-01T10:00:00.000Z"), "now": "2026-12-01T10:40:00Z"}
    cost = run_cost.handler(event, clients=clients)

    usd = {stage["stage"]: stage["usd"] for stage in cost["stages"]}
    # Table prices (us-east-1): m5.xlarge 0.23, g5.2xlarge 1.515, g5.xlarge 1.408 per hour.
    assert usd == {
        "preparation": round(10 / 60 * 0.23, 4),
        "training": round(1440 / 3600 * 1.515, 4),
        "evaluation endpoint": round(40 / 60 * 1.408, 4),
        "evaluation": round(30 / 60 * 0.23, 4),
    }
    assert cost["total_usd"] == round(sum(usd.values()), 2)
    (training,) = [s for s in cost["stages"] if s["stage"] == "training"]
    assert training["spot_saving_percent"] == 60.0
    assert cost["kind"] == "computed" and cost["summary"].startswith("USD ")
    assert json.loads(s3.objects["b/runs/r/cost.json"]) == cost
    assert json.loads(s3.objects["b/runs/r/evaluation/report.json"])["cost"] == cost
    page = s3.objects["b/runs/r/evaluation/report.html"]
    assert '<section id="cost">' in page and page.index("<section") < page.index("</body>")


def test_a_run_that_failed_in_training_is_priced_for_what_it_ran(environment):
    s3 = S3({})
    clients = types.SimpleNamespace(sagemaker=SageMaker({"r-prepare", "r-train"}), s3=s3)
    event = {"state": _state(False, None), "now": "2026-12-01T10:40:00Z"}
    cost = run_cost.handler(event, clients=clients)

    assert [stage["stage"] for stage in cost["stages"]] == ["preparation", "training"]
    assert cost["notes"][0] == "evaluation: not run, nothing billed"
    # No report was written: only cost.json, and nothing read that may not exist.
    assert list(s3.objects) == ["b/runs/r/cost.json"]


def test_an_error_other_than_not_found_fails_the_step(environment):
    class Denied(SageMaker):
        def describe_training_job(self, TrainingJobName: str) -> dict:
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeTrainingJob")

    clients = types.SimpleNamespace(sagemaker=Denied({"r-prepare"}), s3=S3({}))
    with pytest.raises(ClientError, match="AccessDenied"):
        run_cost.handler(
            {"state": _state(False, None), "now": "2026-12-01T10:40:00Z"}, clients=clients
        )


def test_the_base_and_champion_endpoints_are_priced_from_their_own_look_ups(environment):
    clients = types.SimpleNamespace(
        sagemaker=SageMaker({"r-prepare", "r-train", "r-evaluate"}), s3=S3({})
    )
    state = _state(False, "2026-12-01T10:00:00.000Z")
    state["cleanup"]["base_lookup"] = {"status": "InService", "created": "2026-12-01T10:10:00Z"}
    state["cleanup"]["champion_lookup"] = {
        "status": "InService",
        "created": "2026-12-01T10:20:00.000Z",
    }
    cost = run_cost.handler({"state": state, "now": "2026-12-01T10:40:00Z"}, clients=clients)

    usd = {stage["stage"]: stage["usd"] for stage in cost["stages"]}
    assert usd["base endpoint"] == round(30 / 60 * 1.408, 4)
    assert usd["champion endpoint"] == round(20 / 60 * 1.408, 4)
