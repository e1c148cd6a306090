"""`python -m cli demo`: its flags are checked before anything starts."""

from __future__ import annotations

import pytest

from cli.__main__ import _parser
from cli.demo import DEMO_STEPS, demo_input, executions
from cli.report_table import report_text


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


def test_the_demo_compares_with_the_base_model_by_default():
    args = _parser().parse_args(["demo"])
    assert args.compare_with == "base"
    assert executions(args.compare_with) == ["base"]
    execution_input = demo_input("s3://d/x.jsonl", "s3://d/m/", max_steps=None, samples=1)
    assert execution_input["evaluation"]["compare_with"] == "base"
    assert "compare_with_base" not in execution_input["evaluation"]


def test_compare_with_champion_runs_a_first_execution_that_registers_the_champion():
    """Each demo starts a fresh local cloud: the champion must come from the same demo."""
    args = _parser().parse_args(["demo", "--compare-with", "champion"])
    first, second = executions(args.compare_with)
    assert first == "base"
    assert second == ["base", "champion"]
    execution_input = demo_input(
        "s3://d/x.jsonl", "s3://d/m/", max_steps=None, samples=1, compare_with=second
    )
    assert execution_input["evaluation"]["compare_with"] == ["base", "champion"]


def test_an_unknown_comparison_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["demo", "--compare-with", "previous"])
    assert exited.value.code == 2
    assert "argument --compare-with: invalid choice: 'previous'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="compare_with must be one of base, champion"):
        executions("previous")


def test_the_demo_prints_the_three_models_side_by_side():
    report = {
        "samples": 20,
        "metrics": {"exact_match": 0.8, "latency_p50_s": 0.5},
        "baseline": {"source": "r-base", "metrics": {"exact_match": 0.1, "latency_p50_s": 0.4}},
        "champion": {"source": "r-champion", "metrics": {"exact_match": 0.7}},
        "gate": {
            "metric": "exact_match",
            "value": 0.8,
            "threshold": 0.3,
            "passed": True,
            "champion": {"source": "r-champion", "value": 0.7, "min_improvement": 0.0,
                         "bar": 0.7, "beaten": True},
        },
    }  # fmt: skip
    text = report_text(report)
    lines = text.splitlines()
    assert lines[1].split() == ["metric", "base", "model", "champion", "new", "model"]
    assert lines[2].split() == ["exact_match", "0.100", "0.700", "0.800"]
    assert lines[3].split() == ["latency_p50_s", "0.400", "-", "0.500"]
    assert "Champion (r-champion): 0.700, needed 0.700 (min_improvement 0.0): beaten" in text


def test_a_first_run_says_it_passed_on_the_threshold_alone():
    report = {
        "samples": 20,
        "metrics": {"exact_match": 0.8},
        "champion": None,
        "gate": {"metric": "exact_match", "value": 0.8, "threshold": 0.3, "passed": True,
                 "note": "no champion yet: the gate passed on the threshold alone"},
    }  # fmt: skip
    text = report_text(report)
    assert text.splitlines()[1].split() == ["metric", "new", "model"]
    assert "Champion: no champion yet: the gate passed on the threshold alone" in text


def test_the_summary_ends_with_the_cost_the_workflow_computed():
    from cli.demo import summarise
    from cli.runs import Timeline
    from tests.unit.test_cli_commands import COST

    timeline = Timeline(status="SUCCEEDED", states=[("Train the model", 30.0)])
    text = summarise({"cost": COST, "samples": 3}, timeline, "report.html")
    assert "Cost (local estimate), USD, us-east-1:" in text
    assert text.index("Stages:") < text.index("Cost (local estimate)")
    assert "Cost" not in summarise({"samples": 3}, timeline, "report.html")
