"""Helpers shared by the training tests: sample records, channel folders, LoRA models."""

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


def lora_model(base, **lora: object):
    """``base`` with the lora recipe's adapters at r=8, no dropout, and ``lora_B`` drawn
    non-zero (PEFT starts it at zero), so that every adapter changes the output and gets a
    non-zero gradient. ``lora`` overrides fields of the PEFT config."""
    import torch
    from model_setup import peft_config
    from peft import get_peft_model
    from train_config import MethodArgs

    config = peft_config(MethodArgs(lora_r=8, lora_dropout=0.0))
    for key, value in lora.items():
        setattr(config, key, value)
    model = get_peft_model(base, config)
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02)
    return model
