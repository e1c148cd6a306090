"""A real model learns: LoRA on SmolLM2-135M-Instruct over the bundled text-to-SQL sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train import main

from tests.training.helpers import sql_records, write_channel


@pytest.mark.slow
def test_smollm2_lora_loss_falls(tmp_path: Path):
    from cli.sample_models import smollm2_dir

    train = write_channel(tmp_path / "train", "train", sql_records(200))
    validation = write_channel(tmp_path / "validation", "validation", sql_records(20, 2500))
    argv = [
        "--recipe", "lora",
        "--model_name_or_path", str(smollm2_dir()),
        "--train_dir", str(train), "--validation_dir", str(validation),
        "--model_dir", str(tmp_path / "model"), "--checkpoint_dir", str(tmp_path / "ckpt"),
        "--max_seq_length", "512", "--gradient_accumulation_steps", "1",
        "--max_steps", "12", "--learning_rate", "1e-3", "--warmup_ratio", "0",
        "--logging_steps", "1", "--save_steps", "1000", "--eval_on_start", "true",
    ]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "model" / "training_metrics.json").read_text())
    history = metrics["log_history"]
    assert len([e for e in history if "train_loss" in e]) == 12
    before = next(e["eval_loss"] for e in history if "eval_loss" in e)  # the base model
    # Measured on the 2-core CPU: validation loss on the answers 1.53 -> 0.22.
    assert metrics["eval_loss"] < 0.5 * before, (before, metrics["eval_loss"])
