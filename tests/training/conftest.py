"""Fixtures for the training tests: the tiny random Llama and small prepared channels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.training.helpers import sql_records, write_channel


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    from cli.sample_models import tiny_model_dir

    return tiny_model_dir()


@pytest.fixture(scope="session")
def channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """train (96 samples, about 9 packed rows of 1024 tokens) and validation (16 samples)."""
    root = tmp_path_factory.mktemp("channels")
    return {
        "train": write_channel(root / "train", "train", sql_records(96)),
        "validation": write_channel(root / "validation", "validation", sql_records(16, 2000)),
    }


@pytest.fixture
def train_argv(
    tiny_model: Path, channels: dict[str, Path], tmp_path: Path
) -> Callable[..., list[str]]:
    """``train_argv(max_steps=4, ...)``: a complete local command line for the tiny model."""

    def build(**overrides: object) -> list[str]:
        values = {
            "recipe": "lora",
            "model_name_or_path": tiny_model,
            "train_dir": channels["train"],
            "validation_dir": channels["validation"],
            "model_dir": tmp_path / "model",
            "checkpoint_dir": tmp_path / "checkpoints",
            "output_data_dir": tmp_path / "output",
            "max_seq_length": 512,
            "max_steps": 4,
            "gradient_accumulation_steps": 2,
            "logging_steps": 1,
            "save_steps": 2,
            "learning_rate": 1e-3,
            **overrides,
        }
        argv: list[str] = []
        for key, value in values.items():
            if value is not None:
                argv += [f"--{key}", str(value)]
        return argv

    return build
