"""evaluation.py run for real, through boto3 sagemaker-runtime, against an endpoint stub whose
answers are known, so every metric in the report can be asserted."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import chat_format
import pytest

from .sagemaker_stub import MODEL_ERROR, THROTTLE_ONCE, StubRuntime

TRAINING_CODE = Path(__file__).resolve().parents[2] / "training_code"
SCHEMA = "CREATE TABLE ships (name TEXT, city TEXT, age INTEGER)"

# (raw record, what the fine-tuned stub answers). Expected per sample:
# exact, sql_valid, execution_match (None for chat samples).
CASES = [
    ("How many ships are there?", "SELECT COUNT(*) FROM ships", "SELECT COUNT(*) FROM ships"),
    (
        "What is the city of the ship named Aurora?",
        "SELECT city FROM ships WHERE name = 'Aurora'",
        "SELECT  city FROM ships\nWHERE name = 'Aurora';",  # whitespace and ';' do not count
    ),
    (
        "List the names of ships with age above 30.",
        "SELECT name FROM ships WHERE age > 30",
        "SELECT name FROM ships WHERE 30 < age",  # same rows, different text
    ),
    ("What is the highest age among ships?", "SELECT MAX(age) FROM ships", "SELEC MAX(age)"),
    (
        "List the names of ships with age below 40.",
        "SELECT name FROM ships WHERE age < 40",
        "SELECT name FROM ships WHERE age > 40",  # runs, wrong rows
    ),
    (
        "What is the lowest age among ships?",
        "SELECT MIN(age) FROM ships",
        THROTTLE_ONCE + "SELECT MIN(age) FROM ships",
    ),
]
CHATS = [
    ("Capital of France?", "Paris", "Paris"),
    ("Capital of Peru?", "Lima", "<b>Quito</b>"),
    ("Say nothing.", "ok", MODEL_ERROR),
]
EXPECTED_EXACT = 4 / 9  # cases 0, 1, 5 and the first chat
EXPECTED_VALID = 5 / 6
EXPECTED_EXECUTION = 4 / 6


@pytest.fixture(scope="module")
def test_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("test-split")
    records = [{"question": q, "context": SCHEMA, "answer": a} for q, a, _ in CASES]
    records += [{"prompt": q, "completion": a} for q, a, _ in CHATS]
    lines = [json.dumps(chat_format.normalise_record(r)) for r in records]
    (directory / "test.jsonl").write_text("\n".join(lines) + "\n")
    return directory


@pytest.fixture(scope="module")
def stub():
    script = {
        "tuned": {q: answer for q, _, answer in CASES + CHATS},
        "base": {q: "I cannot answer that." for q, _, _ in CASES + CHATS},
    }
    with StubRuntime(script, delay_s=0.1) as server:
        yield server


def run_evaluation(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "evaluation.py", *args],
        cwd=TRAINING_CODE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def first_run(test_dir, stub, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    result = run_evaluation(
        "--test-dir", str(test_dir), "--output-dir", str(out), "--endpoint-name", "tuned",
        "--baseline-endpoint-name", "base", "--metric", "exact_match", "--threshold", "0.4",
        "--concurrency", "4", "--max-tokens", "64", "--endpoint-url", stub.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, out, list(stub.spans)


def test_report_has_the_known_metrics_and_the_gate(first_run):
    result, out, _ = first_run
    report = json.loads((out / "report.json").read_text())
    metrics = report["metrics"]
    assert metrics["exact_match"] == pytest.approx(EXPECTED_EXACT)
    assert metrics["sql_valid"] == pytest.approx(EXPECTED_VALID)
    assert metrics["execution_match"] == pytest.approx(EXPECTED_EXECUTION)
    assert (metrics["samples"], metrics["errors"], metrics["sql_samples"]) == (9, 1, 6)
    assert 0 < metrics["rouge_l"] < 1
    assert metrics["latency_p50_s"] <= metrics["latency_p95_s"]
    assert metrics["output_tokens_per_second"] > 0
    assert report["gate"] == {
        "metric": "exact_match",
        "value": pytest.approx(EXPECTED_EXACT),
        "threshold": 0.4,
        "passed": True,
    }
    baseline = report["baseline"]
    assert baseline["source"] == "base"
    assert baseline["metrics"]["exact_match"] == 0.0
    assert baseline["metrics"]["sql_valid"] == 0.0
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["gate"]["passed"] is True
    assert summary["exact_match"] == pytest.approx(EXPECTED_EXACT)


def test_predictions_record_each_sample(first_run, stub):
    _, out, _ = first_run
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(9))
    assert [r["exact_match"] for r in rows] == [1, 1, 0, 0, 0, 1, 1, 0, 0]
    assert [r["execution_match"] for r in rows[:6]] == [1, 1, 1, 0, 0, 1]
    assert rows[5]["attempts"] == 2 and rows[5]["error"] is None  # throttled once, retried
    assert rows[8]["attempts"] == 1 and rows[8]["error"].startswith("ModelError")  # 4xx: no retry
    assert rows[8]["prediction"] is None
    assert all(r["baseline"]["prediction"] == "I cannot answer that." for r in rows)
    assert rows[0]["task"] == "sql" and rows[6]["task"] == "chat"
    sent = stub.bodies[0]
    assert sent["temperature"] == 0 and sent["max_tokens"] == 64
    assert sent["messages"][0]["content"] == chat_format.SQL_SYSTEM_PROMPT.format(schema=SCHEMA)


def test_the_endpoint_and_its_baseline_are_asked_at_the_same_time(first_run):
    spans = first_run[2]
    tuned = [(start, end) for name, start, end in spans if name == "tuned"]
    base = [(start, end) for name, start, end in spans if name == "base"]
    assert len(tuned) == 10 and len(base) == 9  # one throttled request asked twice
    # Each answer takes 0.1 s and each endpoint has 4 in flight: asked one after the other,
    # no base request would start before the last tuned one ended.
    assert min(start for start, _ in base) < max(end for _, end in tuned)


def test_progress_names_each_endpoint_with_its_rate(first_run):
    result, _, _ = first_run
    for endpoint in ("tuned", "base"):
        lines = [line for line in result.stdout.splitlines() if line.startswith(f"[{endpoint}] ")]
        assert lines, result.stdout
        total = len(CASES + CHATS)
        pattern = rf"\[{endpoint}\] \d+/{total} answered \(\d+ failed, \d+\.\d\d samples/s\)"
        for line in lines:
            assert re.fullmatch(pattern, line), line
        assert lines[-1].startswith(f"[{endpoint}] {len(CASES + CHATS)}/")


def test_html_report_has_plots_and_escaped_failures(first_run):
    _, out, _ = first_run
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
    assert "Gate PASSED" in page
    assert "Capital of Peru?" in page and "&lt;b&gt;Quito&lt;/b&gt;" in page
    assert "<b>Quito</b>" not in page


def test_gate_failure_still_exits_0_and_merges_a_baseline_report(
    first_run, test_dir, stub, tmp_path
):
    _, first_out, _ = first_run
    result = run_evaluation(
        "--test-dir", str(test_dir), "--output-dir", str(tmp_path), "--endpoint-name", "tuned",
        "--baseline-report", str(first_out / "report.json"), "--metric", "execution_match",
        "--threshold", "0.99", "--max-samples", "5", "--endpoint-url", stub.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["samples"] == 5
    assert report["gate"]["passed"] is False
    assert report["gate"]["value"] == pytest.approx(3 / 5)
    first = json.loads((first_out / "report.json").read_text())
    assert report["baseline"]["metrics"] == first["metrics"]
    assert json.loads(result.stdout.strip().splitlines()[-1])["gate"]["passed"] is False


def test_unreachable_endpoint_exits_1_after_writing_the_report(test_dir, stub, tmp_path):
    result = run_evaluation(
        "--test-dir", str(test_dir), "--output-dir", str(tmp_path), "--endpoint-name", "gone",
        "--max-samples", "2", "--endpoint-url", stub.url,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no request to gone succeeded" in result.stderr
    assert "ValidationException" in result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["metrics"]["errors"] == 2


def test_bad_input_exits_2_naming_file_and_line(tmp_path, capsys):
    import evaluation

    args = ["--output-dir", str(tmp_path / "o"), "--endpoint-name", "x"]
    assert evaluation.main(["--test-dir", str(tmp_path / "none"), *args]) == 2
    assert "test.jsonl not found" in capsys.readouterr().err
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    bad = {"messages": [{"role": "user", "content": "q"}]}
    (tmp_path / "test.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    assert evaluation.main(["--test-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert "test.jsonl line 2" in err and "messages" in err


GOOD = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _main_args(tmp_path: Path, *extra: str) -> list[str]:
    # Nothing listens on the URL: input errors must stop the run before any request.
    return [
        "--test-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"), "--endpoint-name",
        "x", "--endpoint-url", "http://127.0.0.1:9", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**GOOD, "metadata": "oops"}, "line 2: field 'metadata': must be an object, got str"),
        ({**GOOD, "metadata": [1]}, "line 2: field 'metadata': must be an object, got list"),
        (
            {"question": "q", "context": SCHEMA, "answer": "a", "metadata": {"task": ["x"]}},
            "line 2: field 'metadata.task': must be a string, got list",
        ),
    ],
)
def test_metadata_that_is_not_an_object_exits_2_naming_line_and_field(
    tmp_path, capsys, record, message
):
    import evaluation

    (tmp_path / "test.jsonl").write_text(json.dumps(GOOD) + "\n" + json.dumps(record) + "\n")
    assert evaluation.main(_main_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"test.jsonl {message}" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        ([], "must be a report.json object, got list"),
        ({"samples": 3}, "field 'metrics': is missing"),
        ({"metrics": [1]}, "field 'metrics': must be an object, got list"),
        ({"metrics": {"rouge_l": "high"}}, "field 'metrics.rouge_l': must be a number or null"),
    ],
)
def test_a_baseline_report_of_the_wrong_shape_exits_2_before_any_request(
    tmp_path, capsys, baseline, message
):
    import evaluation

    (tmp_path / "test.jsonl").write_text(json.dumps(GOOD) + "\n")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(baseline))
    assert evaluation.main(_main_args(tmp_path, "--baseline-report", str(path))) == 2
    assert f"--baseline-report {path}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("threshold", ["1.5", "-1", "nan"])
def test_a_threshold_outside_0_to_1_exits_2(tmp_path, capsys, threshold):
    import evaluation

    with pytest.raises(SystemExit) as exit_info:
        evaluation.parse_args(_main_args(tmp_path, "--threshold", threshold))
    assert exit_info.value.code == 2
    assert f"--threshold must be in [0, 1] (every gate metric is), got {threshold}" in (
        capsys.readouterr().err
    )
    for edge in ("0", "1"):
        assert evaluation.parse_args(_main_args(tmp_path, "--threshold", edge)).threshold == float(
            edge
        )


def test_broken_json_names_the_line_and_column_once(tmp_path, capsys):
    import evaluation

    lines = [json.dumps(GOOD), json.dumps(GOOD), '{"messages": [] "x": 1}', '{"a": 1']
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    assert evaluation.main(_main_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("test.jsonl line 3, column 17: not valid JSON (Expecting ',' delimiter)")
    (tmp_path / "test.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    assert evaluation.main(_main_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()  # cut short: the column just after the line's end
    assert err.endswith("test.jsonl line 3, column 8: not valid JSON (Expecting ',' delimiter)")
