"""``evaluation.compare_with`` and ``min_improvement`` in the validation Lambda and the run plan."""

from __future__ import annotations

import pytest
import run_plan
from execution_input import InvalidInputError, normalise
from run_settings import Settings

from cli.demo import demo_input, executions
from tests.workflow.lambda_settings import SETTINGS
from tests.workflow.test_validate_input import GOOD


def _evaluation(evaluation: dict, settings: Settings = SETTINGS) -> dict:
    return normalise({**GOOD, "evaluation": evaluation}, "e", settings)["evaluation"]


def _problems(evaluation: dict) -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        normalise({**GOOD, "evaluation": evaluation}, "e", SETTINGS)
    return caught.value.problems


@pytest.mark.parametrize(
    ("given", "chosen"),
    [
        ({"compare_with": "none"}, []),
        ({"compare_with": "base"}, ["base"]),
        ({"compare_with": "champion"}, ["champion"]),
        ({"compare_with": ["champion", "base"]}, ["base", "champion"]),
        ({"compare_with": []}, []),
        # The older spelling, alone and beside compare_with.
        ({"compare_with_base": True}, ["base"]),
        ({"compare_with_base": False}, []),
        ({"compare_with": "champion", "compare_with_base": True}, ["base", "champion"]),
        ({"compare_with": "champion", "compare_with_base": False}, ["champion"]),
    ],
)
def test_compare_with_is_normalised_to_a_list_and_flags(given, chosen):
    evaluation = _evaluation(given)
    assert evaluation["compare_with"] == chosen
    assert evaluation["compare_with_base"] is ("base" in chosen)
    assert evaluation["compare_with_champion"] is ("champion" in chosen)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"compare_with": "baseline"}, "evaluation.compare_with: must be one of base, champion, "
         "none or a list of base and champion, got 'baseline'"),
        ({"compare_with": ["base", "none"]}, "got 'none'"),
        ({"compare_with": True}, "evaluation.compare_with: must be one of base, champion, none or "
         "a list of base and champion, got a boolean"),
        ({"compare_with": "base", "compare_with_base": False}, "evaluation.compare_with_base: is "
         "false, but compare_with names base: give compare_with alone"),
        ({"compare_with_base": "yes"}, "evaluation.compare_with_base: must be true or false"),
        ({"compare_with": "champion", "min_improvement": 1.5}, "evaluation.min_improvement: must "
         "be between 0 and 1 (an absolute gain on the gate metric), got 1.5"),
        ({"compare_with": "champion", "min_improvement": "0.1"}, "evaluation.min_improvement: "
         "must be a number, got a string"),
        ({"min_improvement": 0.1}, "evaluation.min_improvement: applies only when compare_with "
         "names champion"),
    ],
)  # fmt: skip
def test_bad_comparisons_are_named(given, expected):
    assert any(expected in problem for problem in _problems(given)), _problems(given)


def test_the_environment_gives_the_defaults():
    settings = Settings(
        **{**SETTINGS.__dict__, "default_compare_with": "champion", "default_min_improvement": 0.02}
    )
    evaluation = _evaluation({}, settings)
    assert evaluation["compare_with"] == ["champion"]
    assert evaluation["min_improvement"] == 0.02
    # The input says otherwise.
    assert _evaluation({"compare_with": "none"}, settings)["compare_with"] == []
    assert _evaluation({"compare_with_base": True}, settings)["compare_with"] == ["base"]


def test_the_plan_has_arguments_with_and_without_a_champion():
    raw = {**GOOD, "run_name": "demo", "evaluation": {"compare_with": ["base", "champion"],
                                                      "min_improvement": 0.05}}  # fmt: skip
    evaluate = run_plan.plan(normalise(raw, "e", SETTINGS), SETTINGS)["evaluate"]
    without, with_champion = evaluate["arguments"], evaluate["champion_arguments"]
    assert without[-3:] == ["--baseline-endpoint-name", "demo-base", "--no-champion"]
    assert with_champion[-6:] == [
        "--baseline-endpoint-name", "demo-base",
        "--champion-endpoint-name", "demo-champion",
        "--min-improvement", "0.05",
    ]  # fmt: skip
    plain = run_plan.plan(normalise({**GOOD, "run_name": "demo"}, "e", SETTINGS), SETTINGS)
    assert "champion_arguments" not in plain["evaluate"]
    assert "--no-champion" not in plain["evaluate"]["arguments"]


def test_both_demo_executions_send_valid_inputs():
    """``python -m cli demo --compare-with champion``: the first against the base model, the
    second against the champion and the base model."""
    settings = Settings(**{**SETTINGS.__dict__, "data_bucket": "demo-data"})
    first, second = (
        normalise(
            demo_input(
                "s3://demo-data/x.jsonl",
                "s3://demo-data/m/",
                max_steps=None,
                samples=5,
                compare_with=c,
            ),
            "demo-1",
            settings,
        )["evaluation"]
        for c in executions("champion")
    )
    assert (first["compare_with_base"], first["compare_with_champion"]) == (True, False)
    assert (second["compare_with_base"], second["compare_with_champion"]) == (True, True)
