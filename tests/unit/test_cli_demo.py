"""`python -m cli demo`: its flags are checked before anything starts."""

from __future__ import annotations

import pytest

from cli.__main__ import _parser
from cli.demo import DEMO_STEPS, demo_input


@pytest.mark.parametrize("flag", ["--max-steps", "--samples"])
@pytest.mark.parametrize("value", ["0", "-1", "2.5", "many"])
def test_a_count_below_1_or_not_whole_is_a_usage_error(flag, value, capsys):
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["demo", flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: must be a whole number >= 1, got {value!r}" in capsys.readouterr().err


def test_the_flags_reach_the_execution_input():
    args = _parser().parse_args(["demo", "--max-steps", "3", "--samples", "7"])
    execution_input = demo_input(
        "s3://d/x.jsonl", "s3://d/m/", max_steps=args.max_steps, samples=args.samples
    )
    assert execution_input["hyperparameters"]["max_steps"] == 3
    assert execution_input["evaluation"]["max_samples"] == 7


def test_without_max_steps_the_demo_uses_its_own_default():
    args = _parser().parse_args(["demo"])
    execution_input = demo_input("s3://d/x.jsonl", "s3://d/m/", max_steps=args.max_steps, samples=1)
    assert execution_input["hyperparameters"]["max_steps"] == DEMO_STEPS


def test_max_steps_0_from_a_caller_is_kept_not_replaced_by_the_default():
    execution_input = demo_input("s3://d/x.jsonl", "s3://d/m/", max_steps=0, samples=1)
    assert execution_input["hyperparameters"]["max_steps"] == 0


def test_the_help_names_the_demo_default(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["demo", "--help"])
    assert f"(default: the demo's {DEMO_STEPS}," in " ".join(capsys.readouterr().out.split())


def test_the_summary_ends_with_the_cost_the_workflow_computed():
    from cli.demo import summarise
    from cli.runs import Timeline
    from tests.unit.test_cli_commands import COST

    timeline = Timeline(status="SUCCEEDED", states=[("Train the model", 30.0)])
    text = summarise({"cost": COST, "samples": 3}, timeline, "report.html")
    assert "Cost (local estimate), USD, us-east-1:" in text
    assert text.index("Stages:") < text.index("Cost (local estimate)")
    assert "Cost" not in summarise({"samples": 3}, timeline, "report.html")
