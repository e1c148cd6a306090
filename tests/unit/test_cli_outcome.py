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
