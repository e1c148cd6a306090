"""The bundled text-to-SQL sample: reproducible, well-formed, and every answer runs."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import chat_format

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
COMMITTED = SAMPLE_DIR / "text_to_sql.jsonl"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_text_to_sql", SAMPLE_DIR / "generate_text_to_sql.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _records() -> list[dict]:
    return [json.loads(line) for line in COMMITTED.read_text().splitlines()]


def test_generator_reproduces_the_committed_file_byte_for_byte(tmp_path):
    generator = _generator()
    generator.main(["--output", str(tmp_path / "out.jsonl")])
    assert (tmp_path / "out.jsonl").read_bytes() == COMMITTED.read_bytes()


def test_size_shape_and_uniqueness():
    records = _records()
    assert len(records) == 3000
    assert COMMITTED.stat().st_size < 2 * 1024 * 1024
    assert all(set(r) == {"question", "context", "answer"} for r in records)
    assert len({r["question"] for r in records}) == len(records)
    assert all("\n" not in r["answer"] and r["answer"].startswith("SELECT ") for r in records)
    assert all(r["context"].startswith("CREATE TABLE ") for r in records)
    assert len({r["context"] for r in records}) >= 24  # a few dozen tables
    assert len({r["answer"].split(" FROM ")[0].split()[1] for r in records}) > 5  # varied


def test_every_answer_runs_against_its_context():
    for number, record in enumerate(_records(), start=1):
        conn = sqlite3.connect(":memory:")
        conn.executescript(record["context"])
        try:
            conn.execute(record["answer"]).fetchall()
        except sqlite3.Error as exc:
            raise AssertionError(f"line {number}: {record['answer']!r}: {exc}") from exc
        finally:
            conn.close()


def test_records_normalise_to_sql_chats():
    normalised = chat_format.normalise_record(_records()[0])
    assert normalised["metadata"]["task"] == "sql"
    assert [m["role"] for m in normalised["messages"]] == ["system", "user", "assistant"]
