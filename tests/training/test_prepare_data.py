"""Data preparation: formats, record checks by file and line, de-duplication, seeded split."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import data_split
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prepare_data import main

from tests.training.helpers import TRAINING_CODE

SQL = {"question": "How many ships?", "context": "CREATE TABLE ships (name TEXT)"}
NO_HOLDOUT = ("--validation-fraction", "0", "--test-fraction", "0")


def _sql(i: int) -> dict:
    return {**SQL, "question": f"How many ships in port {i}?", "answer": f"SELECT {i}"}


def _write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _read(output: Path, split: str) -> list[dict]:
    # Not str.splitlines(): it also breaks at U+2028 inside a JSON string.
    text = (output / split / f"{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(x) for x in text.split("\n") if x]


def _run(tmp_path: Path, *extra: str) -> tuple[int, dict | None]:
    output = tmp_path / "out"
    code = main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(output), *extra])
    stats = output / "stats.json"
    return code, json.loads(stats.read_text()) if stats.exists() else None


def test_every_accepted_shape_becomes_messages(tmp_path: Path):
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {"prompt": "2+2?", "completion": "4"},
        {"instruction": "Add", "input": "2 and 3", "output": "5"},
        _sql(1),
    ]
    _write_jsonl(tmp_path / "in" / "data.jsonl", rows)
    code, stats = _run(tmp_path, "--validation-fraction", "0", "--test-fraction", "0")
    assert code == 0
    train = _read(tmp_path / "out", "train")
    assert len(train) == 4 and all(r["messages"][-1]["role"] == "assistant" for r in train)
    assert stats["tasks"] == {"chat": 3, "sql": 1}
    sql = next(r for r in train if r["metadata"]["task"] == "sql")
    assert sql["metadata"]["schema"] == SQL["context"]
    assert sql["metadata"]["source"].endswith("data.jsonl:4")


def test_csv_and_parquet_are_read_alongside_jsonl(tmp_path: Path):
    folder = tmp_path / "in"
    _write_jsonl(folder / "a.jsonl", [_sql(1)])
    with (folder / "b.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "context", "answer"])
        writer.writeheader()
        writer.writerows([_sql(2), _sql(3)])
    pq.write_table(pa.Table.from_pylist([_sql(4)]), folder / "c.parquet")
    code, stats = _run(tmp_path, "--validation-fraction", "0", "--test-fraction", "0")
    assert code == 0
    assert stats["records_read"] == 4 and stats["splits"]["train"] == 4
    assert [s["format"] for s in stats["sources"]] == ["jsonl", "csv", "parquet"]


def test_a_bad_record_fails_naming_file_line_and_field(tmp_path: Path, capsys):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(1), {**SQL, "answer": ""}, _sql(3)])
    failure = tmp_path / "failure"
    code, stats = _run(tmp_path, "--failure-file", str(failure))
    assert code == 1 and stats is None
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.endswith("data.jsonl:2: field 'answer': is empty")
    assert failure.read_text().strip().endswith("data.jsonl:2: field 'answer': is empty")


def test_bad_csv_rows_and_broken_json_are_reported_where_they_are(tmp_path: Path, monkeypatch):
    folder = tmp_path / "in"
    (folder).mkdir()
    (folder / "d.csv").write_text('question,context,answer\n"two\nlines",CREATE TABLE t (a),\n')
    failure = tmp_path / "sm" / "failure"
    monkeypatch.setenv("SM_OUTPUT_FAILURE", str(failure))
    assert _run(tmp_path)[0] == 1
    assert failure.read_text().strip().endswith("d.csv:2: field 'answer': is empty")

    (folder / "d.csv").unlink()
    _write_jsonl(folder / "e.jsonl", [_sql(1), "{not json"])
    assert _run(tmp_path)[0] == 1
    assert "e.jsonl:2: not valid JSON" in failure.read_text()


def test_skip_drops_and_counts_bad_records_and_duplicates(tmp_path: Path):
    rows = [_sql(i) for i in range(20)] + [_sql(3), _sql(4), {"question": "q"}, "[1, 2"]
    _write_jsonl(tmp_path / "in" / "data.jsonl", rows)
    code, stats = _run(tmp_path, "--on-bad-record", "skip")
    assert code == 0
    assert stats["records_read"] == 24
    assert stats["dropped"] == {"bad_record": 2, "too_long": 0, "duplicate": 2}
    assert [b["where"].rsplit(":", 1)[1] for b in stats["bad_records"]] == ["23", "24"]
    # Each dropped duplicate is named with the line it repeats.
    lines = [
        (d["where"].rsplit(":", 1)[1], d["repeats"].rsplit(":", 1)[1]) for d in stats["duplicates"]
    ]
    assert lines == [("21", "4"), ("22", "5")]
    assert sum(stats["splits"].values()) == 20
    assert stats["dropped_reasons"]  # why, by reason


def test_split_is_seeded_disjoint_and_capped(tmp_path: Path):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(i) for i in range(100)])
    args = ["--validation-fraction", "0.2", "--test-fraction", "0.3", "--max-test-samples", "10"]
    _, stats = _run(tmp_path, *args, "--seed", "7")
    assert stats["splits"] == {"train": 70, "validation": 20, "test": 10}
    first = {
        s: [r["messages"][1]["content"] for r in _read(tmp_path / "out", s)]
        for s in stats["splits"]
    }
    assert not set(first["train"]) & set(first["test"])
    assert not set(first["validation"]) & set(first["test"])
    _run(tmp_path, *args, "--seed", "7")
    assert [r["messages"][1]["content"] for r in _read(tmp_path / "out", "test")] == first["test"]
    _run(tmp_path, *args, "--seed", "8")
    assert [r["messages"][1]["content"] for r in _read(tmp_path / "out", "test")] != first["test"]


def test_token_length_percentiles_use_the_training_tokenizer(tmp_path: Path, tiny_model: Path):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(i) for i in range(30)])
    code, stats = _run(tmp_path, "--tokenizer-dir", str(tiny_model))
    assert code == 0
    lengths = stats["token_lengths"]["train"]
    assert 40 < lengths["min"] <= lengths["p50"] <= lengths["p95"] <= lengths["max"] < 120


def test_an_empty_input_folder_fails_clearly(tmp_path: Path, capsys):
    (tmp_path / "in").mkdir()
    assert _run(tmp_path)[0] == 1
    assert "no data files in" in capsys.readouterr().err


def test_runs_as_a_script_with_the_documented_command_line(tmp_path: Path):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(i) for i in range(10)])
    result = subprocess.run(
        [sys.executable, "prepare_data.py", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "out"), "--format", "jsonl", "--on-bad-record", "fail",
         "--validation-fraction", "0.1", "--test-fraction", "0.1", "--seed", "42"],
        cwd=TRAINING_CODE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for split in ("train", "validation", "test"):
        assert (tmp_path / "out" / split / f"{split}.jsonl").is_file()
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["splits"]["train"] == 8


@pytest.mark.parametrize("fraction", ["1.0", "-0.1"])
def test_fractions_out_of_range_are_refused(tmp_path: Path, fraction: str):
    with pytest.raises(SystemExit):
        _run(tmp_path, "--test-fraction", fraction)


def test_an_unreachable_hub_dataset_fails_with_the_reason(tmp_path: Path, capsys):
    code = main(["--dataset-id", "no-such-org/no-such-dataset", "--output-dir", str(tmp_path)])
    assert code == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "cannot load dataset 'no-such-org/no-such-dataset'" in error
    assert "needs internet access" in error


def test_csv_rows_whose_cells_do_not_match_the_header_are_bad_records(tmp_path: Path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "d.csv").write_text(
        "question,context,answer\n"
        "How many?,CREATE TABLE t (x INT),SELECT COUNT(*) FROM t\n"
        "How many?,CREATE TABLE t (x INT, y INT),SELECT COUNT(*) FROM t\n"
        "How many?,CREATE TABLE t (x INT)\n"
    )
    code, stats = _run(tmp_path, "--on-bad-record", "skip", *NO_HOLDOUT)
    assert code == 0 and stats["records_read"] == 3 and stats["splits"]["train"] == 1
    assert [(b["where"].rsplit(":", 1)[1], b["problem"]) for b in stats["bad_records"]] == [
        ("3", "row has 4 cells, the header has 3 (an unquoted comma?): "
              "put a cell that holds a comma in double quotes"),
        ("4", "row has 2 cells, the header has 3: give every column a cell, even an empty one"),
    ]  # fmt: skip
    assert _run(tmp_path)[0] == 1
    assert "d.csv:3: row has 4 cells, the header has 3" in capsys.readouterr().err


def test_unicode_line_separators_inside_jsonl_strings_are_not_line_breaks(tmp_path: Path):
    answers = ["SELECT 1 -- a\u2028b", "SELECT 2 -- a\u2029b", "SELECT 3 -- a\x85b"]
    rows = [{**SQL, "question": f"q{i}", "answer": a} for i, a in enumerate(answers)]
    folder = tmp_path / "in"
    folder.mkdir()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows)
    (folder / "data.jsonl").write_text(text, encoding="utf-8", newline="")
    code, stats = _run(tmp_path, *NO_HOLDOUT)
    assert code == 0 and stats["records_read"] == 3
    train = _read(tmp_path / "out", "train")
    line_and_answer = {
        r["metadata"]["source"].rsplit(":", 1)[1]: r["messages"][-1]["content"] for r in train
    }
    assert line_and_answer == dict(zip("123", answers, strict=True))


def test_a_file_that_is_not_utf8_fails_naming_file_line_and_byte(tmp_path: Path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    first = json.dumps(_sql(1)) + "\n"
    (folder / "data.jsonl").write_bytes((first + '{"question": "Caf').encode() + b'\xe9"}\n')
    assert _run(tmp_path)[0] == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    offset = len(first) + len('{"question": "Caf')
    assert last_line.endswith(
        f"data.jsonl:2: not UTF-8 (byte 0xe9 at offset {offset}); save the file as UTF-8"
    )


def test_a_utf8_byte_order_mark_is_ignored(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(_sql(1)) + "\n", encoding="utf-8-sig")
    with (folder / "b.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "context", "answer"])
        writer.writeheader()
        writer.writerow(_sql(2))
    code, stats = _run(tmp_path, *NO_HOLDOUT)
    assert code == 0 and stats["splits"]["train"] == 2


def test_a_metadata_task_that_is_not_a_string_is_a_bad_record(tmp_path: Path, capsys):
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    rows = [_sql(1), {"messages": chat, "metadata": {"task": ["x"]}}]
    _write_jsonl(tmp_path / "in" / "data.jsonl", rows)
    assert _run(tmp_path)[0] == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("data.jsonl:2: field 'metadata.task': must be a string, got list")
    )
    code, stats = _run(tmp_path, "--on-bad-record", "skip", *NO_HOLDOUT)
    assert code == 0 and stats["dropped"]["bad_record"] == 1 and stats["tasks"] == {"sql": 1}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-test-samples", "-1"], "argument --max-test-samples: -1 is negative"),
        (["--max-test-samples", "two"], "argument --max-test-samples: 'two' is not a whole"),
        (["--validation-fraction", "0.5", "--test-fraction", "0.5"], "must be below 1"),
    ],
)
def test_negative_counts_and_fractions_summing_to_one_are_refused(
    tmp_path: Path, capsys, flags: list[str], message: str
):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(i) for i in range(10)])
    with pytest.raises(SystemExit):
        _run(tmp_path, *flags)
    assert message in capsys.readouterr().err


def test_split_sizes_refuses_a_negative_test_cap():
    with pytest.raises(ValueError, match="max_test must be 0 or more"):
        data_split.split_sizes(10, 0.1, 0.1, -1)


def test_files_in_hidden_folders_are_skipped(tmp_path: Path):
    folder = tmp_path / ".cache" / "in"  # a hidden folder above the input folder is fine
    _write_jsonl(folder / "d.jsonl", [_sql(1)])
    _write_jsonl(folder / ".ipynb_checkpoints" / "d-checkpoint.jsonl", ["{not json"])
    _write_jsonl(folder / "sub" / ".hidden" / "e.jsonl", ["{not json"])
    output = tmp_path / "out"
    code = main(["--input-dir", str(folder), "--output-dir", str(output), *NO_HOLDOUT])
    stats = json.loads((output / "stats.json").read_text())
    assert code == 0 and [Path(s["path"]).name for s in stats["sources"]] == ["d.jsonl"]


def test_metadata_that_is_not_an_object_is_a_bad_record(tmp_path: Path, capsys):
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    rows = [_sql(1), {"messages": chat, "metadata": "oops"}, {"messages": chat, "metadata": None}]
    _write_jsonl(tmp_path / "in" / "data.jsonl", rows)
    assert _run(tmp_path)[0] == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("data.jsonl:2: field 'metadata': must be an object, got str")
    )
    code, stats = _run(tmp_path, "--on-bad-record", "skip", *NO_HOLDOUT)
    assert code == 0 and stats["dropped"]["bad_record"] == 1 and stats["splits"]["train"] == 2


def test_a_csv_metadata_cell_holds_an_object_or_nothing(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "d.csv").write_text(
        'prompt,completion,metadata\na,b,\nc,d,"{""k"": 1}"\ne,f,"[1]"\n', encoding="utf-8"
    )
    code, stats = _run(tmp_path, "--on-bad-record", "skip", *NO_HOLDOUT)
    assert code == 0 and stats["splits"]["train"] == 2
    assert stats["bad_records"][0]["where"].endswith("d.csv:4")
    assert stats["bad_records"][0]["problem"] == "field 'metadata': must be an object, got list"
    assert {r["metadata"].get("k") for r in _read(tmp_path / "out", "train")} == {None, 1}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "prompt,completion,prompt",
            "header names a column more than once: 'prompt' (columns 1, 3)",
        ),
        ("prompt,,completion", "header column 2 has no name; name every column"),
        ("prompt,completion, ,", "header columns 3, 4 have no name; name every column"),
        (
            "question, context, answer",
            "header names with spaces around them: ' context', ' answer'; remove the spaces",
        ),
    ],
)
def test_a_csv_header_with_blank_repeated_or_padded_names_stops_the_job(
    tmp_path: Path, capsys, header: str, message: str
):
    folder = tmp_path / "in"
    folder.mkdir()
    cells = ",".join("x" for _ in header.split(","))
    (folder / "d.csv").write_text(f"{header}\n{cells}\n", encoding="utf-8")
    assert _run(tmp_path, "--on-bad-record", "skip", *NO_HOLDOUT) == (1, None)
    assert capsys.readouterr().err.strip().endswith(f"d.csv:1: {message}")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"question": "q", "context": "CREATE TABLE t (a)"},
            "field 'answer': is missing (the record has 'question', 'context')",
        ),
        ({"completion": "c"}, "field 'prompt': is missing (the record has 'completion')"),
        (
            {"input": "i", "output": "o"},
            "field 'instruction': is missing (the record has 'input', 'output')",
        ),
        (
            {"query": "q", "sql": "s"},
            "field '<record>': unknown shape: expected 'messages', 'prompt'/'completion', "
            "'instruction'/'output' or 'question'/'context'/'answer'; the record has 'query', "
            "'sql'",
        ),
        (
            {},
            "field '<record>': unknown shape: expected 'messages', 'prompt'/'completion', "
            "'instruction'/'output' or 'question'/'context'/'answer'; the record has no keys",
        ),
    ],
)
def test_a_record_of_no_known_shape_names_its_keys_and_a_missing_field(
    tmp_path: Path, capsys, record: dict, message: str
):
    _write_jsonl(tmp_path / "in" / "data.jsonl", [_sql(1), record])
    assert _run(tmp_path)[0] == 1
    assert f"data.jsonl:2: {message}" in capsys.readouterr().err
