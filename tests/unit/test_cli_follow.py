"""What `python -m cli follow` and `make demo` print while a run goes on and when it ends: a
look-up's answer once, evaluation progress, a rejection's list, and the stages."""

from __future__ import annotations

import json
from datetime import datetime

from cli.demo import summarise
from cli.runs import _PROGRESS, Timeline, _on_event, failure_line
from cli.stages import stage_durations, stage_table

NOT_FOUND = (
    "Could not find processing job 'sql-1-prepare'. (Service: SageMaker, Status Code: 400, "
    "Request ID: {})"
)


def _failed(resource: str, cause: str) -> dict:
    return {
        "type": "TaskFailed",
        "timestamp": datetime(2026, 1, 1),
        "taskFailedEventDetails": {
            "error": "SageMaker.SageMakerException",
            "cause": cause,
            "resource": resource,
            "resourceType": "aws-sdk:sagemaker",
        },
    }


def test_the_run_name_look_up_s_not_found_is_said_once_for_its_retries():
    said: list[str] = []
    timeline = Timeline()
    for request in ("a1b2", "c3d4", "e5f6"):  # the first try and two retries
        _on_event(
            _failed("describeProcessingJob", NOT_FOUND.format(request)),
            {},
            timeline,
            {},
            said.append,
        )
    assert said == ["    · not found: " + NOT_FOUND.format("a1b2")[:160]]


def test_each_clean_up_answer_is_still_said():
    said: list[str] = []
    timeline = Timeline()
    for resource, cause in (
        ("deleteEndpoint", "Could not find endpoint sql-1-eval."),
        ("deleteEndpoint", "Could not find endpoint sql-1-base."),
        ("deleteModel", "Could not find model sql-1-eval."),
    ):
        _on_event(_failed(resource, cause), {}, timeline, {}, said.append)
    assert len(said) == 3


def test_a_rejected_input_shows_the_list_of_problems_not_the_payload():
    message = "The execution input is not valid (contract: docs/execution-input.md):\n- recipe: x"
    payload = {"errorMessage": message, "errorType": "InvalidInputError", "stackTrace": ["  File"]}
    assert failure_line("InvalidInputError", json.dumps(payload), "invoke") == (
        f"    ✗ InvalidInputError: {message}"
    )


def test_evaluation_progress_lines_are_shown():
    assert _PROGRESS.search("[sql-1-eval] 40/100 answered (0 failed, 1.25 samples/s)")
    assert _PROGRESS.search("[sql-1-base] 10/100 answered (2 failed, 0.31 samples/s)")


# A successful compared run, as Timeline.states records it: every state exited, in order.
STATES = [
    ("Validate the input", 0.4),
    ("Check that the run name is new", 2.1),
    ("Is the run name free?", 0.0),
    ("Prepare the data", 1.5),
    ("Train the model", 178.0),
    ("List the trained model's files", 0.2),
    ("Was a model written?", 0.0),
    ("Copy a model file", 0.5),
    ("Keep the trained model", 5.0),
    ("Use the kept model", 0.0),
    ("Create the evaluation model", 0.3),
    ("Create the evaluation endpoint config", 0.1),
    ("Create the evaluation endpoint", 0.2),
    ("Deploy the base model too?", 0.0),
    ("Wait for the evaluation endpoint", 30.0),
    ("Check the evaluation endpoint status", 0.1),
    ("Is the evaluation endpoint in service?", 0.0),
    ("Wait for the evaluation endpoint", 10.0),
    ("Check the evaluation endpoint status", 0.1),
    ("Is the evaluation endpoint in service?", 0.0),
    ("Evaluate the model", 138.0),
    ("Read the evaluation report", 0.2),
    ("Is the evaluation report complete?", 0.0),
    ("Is the model good enough?", 0.0),
    ("Register the model", 0.4),
    ("Look up the evaluation endpoint", 0.1),
    ("Delete the evaluation endpoint", 0.2),
    ("Notify about the success", 0.3),
]


def test_states_are_grouped_into_the_readme_s_stages():
    assert {name: round(s, 1) for name, s in stage_durations(STATES).items()} == {
        "validate + prepare the data": 4.0,
        "train (the model exported and kept)": 183.7,
        "endpoints in service": 40.8,
        "evaluate": 138.0,
        "clean-up, registration, notification": 1.2,
    }


def test_a_failed_run_goes_from_its_stage_to_the_clean_up():
    states = [
        ("Validate the input", 0.3),
        ("Prepare the data", 1.0),
        ("Train the model", 9.0),
        ("Look up the evaluation endpoint", 0.1),
        ("Notify about the failure", 0.2),
    ]
    assert list(stage_durations(states)) == [
        "validate + prepare the data",
        "train (the model exported and kept)",
        "clean-up, registration, notification",
    ]


def test_the_demo_ends_with_the_stage_summary_not_every_state():
    report = {"samples": 100, "metrics": {"exact_match": 0.82}, "gate": {}}
    text = summarise(report, Timeline(status="SUCCEEDED", states=STATES), "r.html", setup_s=13.0)
    stages = text[text.index("Stages:") :].splitlines()[1:-1]
    assert [line.split("  ")[1] for line in stages] == [
        "start the local cloud, deploy, upload",
        "validate + prepare the data",
        "train (the model exported and kept)",
        "endpoints in service",
        "evaluate",
        "clean-up, registration, notification",
        "total",
    ]
    assert stages[2].endswith("3 min 4 s") and stages[-1].endswith("6 min 21 s")
    assert "Is the run name free?" not in text


def test_the_stage_table_writes_times_as_the_readme_does():
    table = stage_table([("Validate the input", 0.44), ("Train the model", 178.0)])
    assert table.splitlines()[0].endswith("0.4 s")
    assert table.splitlines()[1].endswith("2 min 58 s")
