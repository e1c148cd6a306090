"""Helpers shared by the training tests: sample records and channel folders."""

from __future__ import annotations

import json
from pathlib import Path

import chat_format

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = ROOT / "sample_data" / "text_to_sql.jsonl"
TRAINING_CODE = ROOT / "training_code"


def sql_records(count: int, offset: int = 0) -> list[dict]:
    """Normalised text-to-SQL records from the bundled sample (deterministic)."""
    lines = SAMPLE_DATA.read_text().splitlines()[offset : offset + count]
    return [chat_format.normalise_record(json.loads(line)) for line in lines]


def write_channel(folder: Path, name: str, records: list[dict]) -> Path:
    """Writes ``folder/name.jsonl`` the way prepare_data does; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder
