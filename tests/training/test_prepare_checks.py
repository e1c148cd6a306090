"""Data preparation's checks beyond a record's shape: length against the run's max_seq_length,
empty chat turns, a dataset's field mapping, and what stats.json records of them."""

from __future__ import annotations

import json
from pathlib import Path

import chat_format
import pytest
from prepare_data import main

SQL = {"question": "How many ships?", "context": "CREATE TABLE ships (name TEXT)"}
NO_HOLDOUT = ("--validation-fraction", "0", "--test-fraction", "0")


def _rows(count: int) -> list[dict]:
    return [{**SQL, "question": f"How many ships in port {i}?", "answer": f"SELECT {i}"}
            for i in range(count)]  # fmt: skip


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows))


def _run(tmp_path: Path, *extra: str) -> tuple[int, dict | None]:
    output = tmp_path / "out"
    code = main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(output), *extra])
    stats = output / "stats.json"
    return code, json.loads(stats.read_text()) if stats.exists() else None


def _overlong(tmp_path: Path) -> None:
    # 100,000 characters of question: about 20,000 tokens, far over the lora recipe's 1,024.
    rows = _rows(5)
    rows.insert(2, {**SQL, "question": "ships " * 16_667, "answer": "SELECT 1"})
    _write(tmp_path / "in", "data.jsonl", rows)


def test_an_overlong_sample_fails_preparation_naming_its_file_and_line(tmp_path, capsys):
    _overlong(tmp_path)
    assert _run(tmp_path, "--recipe", "lora")[0] == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: {tmp_path / 'in' / 'data.jsonl'}:3: sample holds 100,")
    assert "about 12,5" in error and "no tokenizer: a low estimate" in error
    assert "more than max_seq_length=1024" in error


def test_with_skip_an_overlong_sample_is_dropped_and_counted_apart(tmp_path):
    _overlong(tmp_path)
    code, stats = _run(tmp_path, "--recipe", "lora", "--on-bad-record", "skip", *NO_HOLDOUT)
    assert code == 0
    assert stats["dropped"] == {"bad_record": 0, "too_long": 1, "duplicate": 0}
    (bad,) = stats["bad_records"]
    assert bad["where"].endswith("data.jsonl:3") and "max_seq_length=1024" in bad["problem"]
    assert stats["length_check"] == {
        "max_seq_length": 1024,
        "truncate": False,
        "measured_with": "an estimate: UTF-8 bytes of the turns' text / 8",
    }


@pytest.mark.parametrize(
    "run",
    [
        ("--max-seq-length", "32768"),
        ("--truncate", "true"),
        ("--recipe", "lora", "--truncate", "1"),
    ],
)
def test_the_run_s_own_max_seq_length_or_truncate_lets_it_through(tmp_path, run):
    _overlong(tmp_path)
    code, stats = _run(tmp_path, *run, *NO_HOLDOUT)
    assert code == 0 and stats["splits"]["train"] == 6


def test_the_recipe_s_max_seq_length_is_the_one_checked(tmp_path):
    _write(
        tmp_path / "in",
        "data.jsonl",
        [*_rows(3), {**SQL, "question": "x" * 12_000, "answer": "SELECT 1"}],
    )
    assert _run(tmp_path, "--recipe", "qlora", *NO_HOLDOUT)[0] == 0  # 1,500 tokens < 2,048
    assert _run(tmp_path, "--recipe", "lora", *NO_HOLDOUT)[0] == 1  # > 1,024


def test_with_the_tokenizer_the_length_is_exact_tokens(tmp_path, tiny_model, capsys):
    _write(tmp_path / "in", "data.jsonl", _rows(4))
    code, stats = _run(tmp_path, "--tokenizer-dir", str(tiny_model), "--max-seq-length", "40")
    assert code == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "data.jsonl:1: sample has " in error and " tokens, more than max_seq_length=40" in error
    code, stats = _run(tmp_path, "--tokenizer-dir", str(tiny_model), *NO_HOLDOUT)
    assert code == 0
    assert stats["length_check"]["measured_with"].startswith("the tokenizer and chat template")


def test_a_tokenizer_that_is_not_a_folder_is_refused_not_downloaded(tmp_path, capsys):
    _write(tmp_path / "in", "data.jsonl", _rows(4))
    assert _run(tmp_path, "--tokenizer-dir", "HuggingFaceTB/SmolLM2-135M-Instruct")[0] == 1
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(("turn", "content"), [(0, ""), (1, "  \n\t")])
def test_an_empty_chat_turn_is_a_bad_record_naming_the_turn(tmp_path, capsys, turn, content):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    messages[turn]["content"] = content
    _write(tmp_path / "in", "chat.jsonl", [{"messages": messages}])
    assert _run(tmp_path)[0] == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith(f"chat.jsonl:1: field 'messages[{turn}].content': is empty")


def test_stats_record_the_system_prompts_preparation_adds(tmp_path):
    _write(tmp_path / "in", "data.jsonl", [*_rows(2), {"prompt": "2+2?", "completion": "4"}])
    _, stats = _run(tmp_path, *NO_HOLDOUT)
    assert stats["system_prompts"] == {
        "prompt/completion": chat_format.DEFAULT_SYSTEM_PROMPT,
        "instruction": chat_format.DEFAULT_SYSTEM_PROMPT,
        "text-to-SQL": chat_format.SQL_SYSTEM_PROMPT,
    }
    assert "{schema}" in stats["system_prompts"]["text-to-SQL"]


def test_a_field_mapping_reads_a_column_named_otherwise(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "d.csv").write_text(
        "q,schema,sql,answer\nHow many?,CREATE TABLE t (x INT),SELECT COUNT(*) FROM t,stale\n"
    )
    _write(
        folder, "e.jsonl", [{"q": "Any?", "schema": "CREATE TABLE u (y INT)", "sql": "SELECT 1"}]
    )
    fields = ("--field", "question=q", "--field", "context=schema", "--field", "answer=sql")
    code, stats = _run(tmp_path, *fields, *NO_HOLDOUT)
    assert code == 0 and stats["tasks"] == {"sql": 2}
    assert stats["fields"] == {"question": "q", "context": "schema", "answer": "sql"}
    rows = (tmp_path / "out" / "train" / "train.jsonl").read_text().splitlines()
    answers = sorted(json.loads(row)["messages"][-1]["content"] for row in rows)
    assert answers == ["SELECT 1", "SELECT COUNT(*) FROM t"]  # not the stale 'answer' column


def test_a_missing_mapped_column_names_field_and_column(tmp_path, capsys):
    _write(tmp_path / "in", "d.jsonl", [{**SQL, "answer": "SELECT 1"}])
    assert _run(tmp_path, "--field", "answer=sql")[0] == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith("d.jsonl:1: field 'answer' (column 'sql'): is missing "
                          "(the record has 'question', 'context')")  # fmt: skip


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ("answer", "--field 'answer': expected FIELD=COLUMN, such as answer=sql"),
        ("anwser=sql", "--field anwser: is not a record field (did you mean 'answer'?)"),
        ("answer=", "--field answer: must name a column, got ''"),
    ],
)
def test_a_bad_field_mapping_is_refused(tmp_path, capsys, pair, problem):
    _write(tmp_path / "in", "d.jsonl", _rows(3))
    assert _run(tmp_path, "--field", pair)[0] == 1
    assert problem in capsys.readouterr().err


def test_training_errors_about_a_sample_name_its_source_file_and_line(tmp_path, tiny_model):
    import sft_dataset
    from config_values import ConfigError
    from sft_tokenize import SampleTooLongError
    from transformers import AutoTokenizer

    _write(tmp_path / "in", "data.jsonl", _rows(3))
    assert _run(tmp_path, *NO_HOLDOUT)[0] == 0
    channel = tmp_path / "out" / "train" / "train.jsonl"
    first = json.loads(channel.read_text().splitlines()[0])
    source = first["metadata"]["source"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    options = {"truncate": False, "assistant_only_loss": True}
    with pytest.raises(SampleTooLongError) as too_long:
        sft_dataset.build_dataset(tokenizer, channel, max_length=16, **options)
    assert str(too_long.value).startswith(f"{channel}:1 (from {source}): sample has ")

    first["messages"][1]["content"] = " "
    channel.write_text(json.dumps(first) + "\n")
    with pytest.raises(ConfigError) as bad:
        sft_dataset.build_dataset(tokenizer, channel, max_length=1024, **options)
    assert str(bad.value) == f"{channel}:1 (from {source}): field 'messages[1].content': is empty"


def test_the_exported_model_records_the_system_prompts_beside_its_chat_template(
    train_argv, tmp_path
):
    from train import main as train

    assert train(train_argv(max_steps=1, validation_dir="none")) == 0
    written = json.loads((tmp_path / "model" / "system_prompts.json").read_text())
    assert written == {"added_by_preparation": chat_format.ADDED_SYSTEM_PROMPTS}
    assert (tmp_path / "model" / "chat_template.jinja").is_file()
