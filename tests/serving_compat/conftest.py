"""Fixtures: each kind of model train.py exports, read by training's and serving's transformers.

The bases are the tiny random Llama stored in bf16 with SmolLM2's tokenizer (two of its added
tokens made extra special tokens), one with SmolLM2's plain RoPE at theta 100,000 and one with
Llama 3's scaled RoPE, so that a reader falling back to its defaults reads another model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from tests.training.helpers import sql_records, write_channel

ROOT = Path(__file__).resolve().parents[2]
SERVING_ENV = ROOT / ".venv" / "serving-transformers"
PROBE = Path(__file__).with_name("probe.py")

PLAIN_ROPE = {"rope_type": "default", "rope_theta": 100000.0}
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 1024,
}
EXTRA_SPECIAL_TOKENS = ["<file_sep>", "<repo_name>"]
ADAPTER_BASE = "s3://data-bucket/models/tiny/"
# kind: (recipe, base's RoPE, extra train.py arguments)
EXPORTS = {
    "merged_lora": ("lora", LLAMA3_ROPE, {}),
    "full": ("full", PLAIN_ROPE, {}),
    "adapter": ("lora", PLAIN_ROPE, {"save_merged": "false", "base_model_reference": ADAPTER_BASE}),
}


@dataclass(frozen=True)
class Export:
    """One exported folder and the base it was trained from."""

    folder: Path
    base: Path
    rope: dict


@dataclass(frozen=True)
class Reading:
    """What one transformers read from every export (see probe.py)."""

    versions: dict
    results: dict[str, dict]
    folder: Path

    def logits(self, kind: str) -> torch.Tensor:
        return torch.load(self.folder / f"{kind}.pt")


@pytest.fixture(scope="session")
def serving_env() -> Path:
    """The side environment ``make setup`` creates, or a skip saying how to create it."""
    if not (SERVING_ENV / "transformers").is_dir():
        # CI sets up from scratch: there the serving-side load must run, never skip.
        if os.environ.get("CI"):
            pytest.fail(f"no {SERVING_ENV.relative_to(ROOT)} in CI: `make setup` should create it")
        pytest.skip(
            f"no {SERVING_ENV.relative_to(ROOT)} (the serving image's transformers): `make setup` "
            "creates it; a venv set up before it existed needs `rm .venv/.installed && make setup`"
        )
    return SERVING_ENV


def _base(folder: Path, rope: dict) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cli.sample_models import tiny_model_dir

    tiny = tiny_model_dir()
    AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.bfloat16).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["rope_parameters"] = rope
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    tokenizer.extra_special_tokens = EXTRA_SPECIAL_TOKENS
    tokenizer.save_pretrained(folder)
    return folder


def export_after_one_step(base: Path, root: Path, recipe: str, **extra: str) -> Path:
    """Trains ``base`` for one step with train.py under ``root``; returns the exported folder."""
    from train import main

    values = {
        "recipe": recipe,
        "model_name_or_path": base,
        "train_dir": write_channel(root / "train", "train", sql_records(8)),
        "validation_dir": "none",
        "model_dir": root / "model",
        "checkpoint_dir": root / "checkpoints",
        "output_data_dir": root / "output",
        "max_seq_length": 512,
        "max_steps": 1,
        "save_steps": 10,
        "learning_rate": 1e-3,
        **extra,
    }
    assert main([item for k, v in values.items() for item in (f"--{k}", str(v))]) == 0
    return root / "model"


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    """Every kind of export, each written by train.py after one step."""
    root = tmp_path_factory.mktemp("exports")
    bases = {
        "plain": _base(root / "base-plain", PLAIN_ROPE),
        "llama3": _base(root / "base-llama3", LLAMA3_ROPE),
    }
    made = {}
    for kind, (recipe, rope, extra) in EXPORTS.items():
        base = bases["llama3" if rope is LLAMA3_ROPE else "plain"]
        made[kind] = Export(export_after_one_step(base, root / kind, recipe, **extra), base, rope)
    return made


def read_exports(folders: dict[str, Path], out: Path, pythonpath: Path | None) -> Reading:
    """Runs probe.py over each named folder, with ``pythonpath`` (a side environment) first."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    pairs = [f"{kind}={folder}" for kind, folder in folders.items()]
    done = subprocess.run(
        [sys.executable, str(PROBE), str(out), *pairs],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = {kind: json.loads((out / f"{kind}.json").read_text()) for kind in folders}
    versions = json.loads((out / "versions.json").read_text())
    return Reading(versions, results, out)


@pytest.fixture(scope="session")
def training_side(exports, tmp_path_factory) -> Reading:
    """The exports as the venv's transformers (training's) reads them."""
    folders = {kind: export.folder for kind, export in exports.items()}
    return read_exports(folders, tmp_path_factory.mktemp("training-side"), None)


@pytest.fixture(scope="session")
def serving_side(serving_env, exports, tmp_path_factory) -> Reading:
    """The exports as the serving image's transformers reads them."""
    folders = {kind: export.folder for kind, export in exports.items()}
    return read_exports(folders, tmp_path_factory.mktemp("serving-side"), serving_env)
