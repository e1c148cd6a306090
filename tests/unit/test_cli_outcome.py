"""How `python -m cli start --follow` and `follow` report the end of an execution."""

from __future__ import annotations

import json

from cli.__main__ import _outcome
from cli.runs import Timeline


def test_a_failed_execution_prints_its_cause_and_exits_1(capsys):
    timeline = Timeline(
        status="FAILED",
        states=[("Train the model", 3.0), ("Clean up", 1.0), ("Train the model", 2.0)],
        error="Training.Failed",
        cause="bad.jsonl:3: not valid JSON",
    )
    assert _outcome(timeline) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "status": "FAILED",
        "error": "Training.Failed",
        "cause": "bad.jsonl:3: not valid JSON",
        "durations_s": {"Train the model": 5.0, "Clean up": 1.0},
    }


def test_a_succeeded_execution_exits_0(capsys):
    assert _outcome(Timeline(status="SUCCEEDED")) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "SUCCEEDED"


def test_a_failed_job_shows_its_failure_reason_not_its_whole_description():
    from cli.runs import failure_line

    description = {"ProcessingJobName": "r-prepare", "Environment": {"A": "x" * 400}}
    cause = json.dumps({**description, "FailureReason": "AlgorithmError: bad.jsonl:3: not JSON"})
    assert failure_line("States.TaskFailed", cause) == (
        "    ✗ States.TaskFailed: AlgorithmError: bad.jsonl:3: not JSON"
    )
    assert failure_line("X", "y" * 600) == f"    ✗ X: {'y' * 500} ..."


def test_not_found_is_an_expected_answer_not_a_failure():
    from cli.runs import failure_line

    cause = "Could not find endpoint r-eval."
    line = failure_line("SageMaker.SageMakerException", cause, "describeEndpoint")
    assert line == "    · not found: Could not find endpoint r-eval."
    # A job that failed on a missing file is a failure, whatever its reason says.
    job = json.dumps({"FailureReason": "Could not find s3://d/train.jsonl"})
    assert failure_line("States.TaskFailed", job, "createTrainingJob.sync") == (
        "    ✗ States.TaskFailed: Could not find s3://d/train.jsonl"
    )


def test_only_the_jobs_the_execution_creates_are_followed():
    """The run-name check describes <run>-prepare, another run's job when the name is taken."""
    from datetime import datetime

    from cli.runs import Timeline, _on_event

    def scheduled(resource: str, name: str) -> dict:
        return {
            "type": "TaskScheduled",
            "timestamp": datetime(2026, 1, 1),
            "taskScheduledEventDetails": {
                "resourceType": "sagemaker",
                "resource": resource,
                "parameters": json.dumps({"ProcessingJobName": name}),
            },
        }

    jobs: dict = {}
    for event in (
        scheduled("describeProcessingJob", "earlier-prepare"),
        scheduled("createProcessingJob.sync", "r-prepare"),
    ):
        _on_event(event, {}, Timeline(), jobs, print)
    assert list(jobs) == ["r-prepare"]
