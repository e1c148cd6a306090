"""The evaluation job against a champion: three endpoints on the same samples, the champion's
bar in the gate, and the three models side by side in report.json and report.html."""

from __future__ import annotations

import json

import pytest
from champion_gate import NO_CHAMPION_NOTE, champion_gate

from .sagemaker_stub import StubRuntime
from .test_evaluation_run import CASES, CHATS, EXPECTED_EXACT, run_evaluation, test_dir  # noqa: F401

GATE = {"metric": "exact_match", "value": 0.8, "threshold": 0.5, "passed": True}


@pytest.fixture(scope="module")
def stub():
    script = {
        "tuned": {q: answer for q, _, answer in CASES + CHATS},
        "base": {q: "I cannot answer that." for q, _, _ in CASES + CHATS},
        "strong": {q: reference for q, reference, _ in CASES + CHATS},
        "weak": {q: "SELECT 1" for q, _, _ in CASES + CHATS},
    }
    with StubRuntime(script) as server:
        yield server


def _evaluate(test_dir, stub, out, *extra: str) -> dict:  # noqa: F811
    result = run_evaluation(
        "--test-dir", str(test_dir), "--output-dir", str(out), "--endpoint-name", "tuned",
        "--metric", "exact_match", "--threshold", "0.4", "--endpoint-url", stub.url, *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((out / "report.json").read_text())


def test_a_stronger_champion_fails_the_gate_and_all_three_models_are_reported(
    test_dir,  # noqa: F811
    stub,
    tmp_path,
):
    report = _evaluate(
        test_dir, stub, tmp_path,
        "--baseline-endpoint-name", "base", "--champion-endpoint-name", "strong",
        "--min-improvement", "0",
    )  # fmt: skip
    gate = report["gate"]
    assert gate["value"] == pytest.approx(EXPECTED_EXACT)
    assert gate["champion"]["source"] == "strong"
    # The stub's one model error and one throttled answer are retried or scored as misses.
    assert gate["champion"]["value"] == pytest.approx(report["champion"]["metrics"]["exact_match"])
    assert gate["champion"]["value"] > gate["value"]
    assert gate["champion"]["beaten"] is False
    assert gate["passed"] is False  # the threshold alone (0.4) would have passed it
    assert report["baseline"]["source"] == "base"
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert all({"baseline", "champion"} <= row.keys() for row in rows)
    page = (tmp_path / "report.html").read_text()
    assert "new (tuned)" in page and "champion (strong)" in page and "baseline (base)" in page
    assert "NOT beaten" in page


def test_a_weaker_champion_is_beaten_by_min_improvement(test_dir, stub, tmp_path):  # noqa: F811
    report = _evaluate(
        test_dir, stub, tmp_path, "--champion-endpoint-name", "weak", "--min-improvement", "0.25"
    )
    champion = report["gate"]["champion"]
    assert champion["value"] == 0.0
    assert champion["bar"] == 0.25
    assert champion["beaten"] is True
    assert report["gate"]["passed"] is True


def test_without_a_champion_the_threshold_alone_decides_and_the_report_says_so(
    test_dir,  # noqa: F811
    stub,
    tmp_path,
):
    report = _evaluate(test_dir, stub, tmp_path, "--no-champion")
    assert report["gate"]["passed"] is True
    assert report["gate"]["note"] == NO_CHAMPION_NOTE
    assert report["champion"] is None
    assert NO_CHAMPION_NOTE in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--champion-endpoint-name", "weak", "--no-champion"],
        ["--min-improvement", "1.5"],
    ],
)
def test_contradictory_champion_arguments_exit_2(test_dir, tmp_path, args):  # noqa: F811
    result = run_evaluation(
        "--test-dir", str(test_dir), "--output-dir", str(tmp_path), "--endpoint-name", "t", *args
    )
    assert result.returncode == 2
    assert "champion" in result.stderr or "min-improvement" in result.stderr


def test_the_bar_is_rounded_so_binary_fractions_do_not_decide():
    assert champion_gate({**GATE, "value": 0.8}, {"exact_match": 0.7}, source="c",
                         min_improvement=0.1)["champion"]["bar"] == 0.8  # fmt: skip
    assert champion_gate({**GATE, "value": 0.3}, {"exact_match": 0.1}, source="c",
                         min_improvement=0.2)["passed"] is True  # fmt: skip


def test_a_champion_that_could_not_be_measured_fails_the_gate():
    gated = champion_gate(GATE, {"exact_match": None}, source="c", min_improvement=0.0)
    assert gated["passed"] is False
    assert gated["champion"]["bar"] is None
    assert "could not be measured" in gated["reason"]


def test_a_failed_threshold_stays_failed_whatever_the_champion():
    gated = champion_gate({**GATE, "passed": False}, {"exact_match": 0.0}, source="c",
                          min_improvement=0.0)  # fmt: skip
    assert gated["champion"]["beaten"] is True
    assert gated["passed"] is False
