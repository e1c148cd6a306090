"""Distributed training: ``torchrun --nproc_per_node=2 train.py`` on CPU (gloo, DDP), and FSDP
on a GPU (accelerate shards only on accelerators, so that test needs CUDA)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from checkpoints import newest_checkpoint

from contracts.metrics import METRIC_DEFINITIONS
from tests.training.helpers import TRAINING_CODE


def _torchrun(argv: list[str], processes: int = 2) -> subprocess.CompletedProcess:
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    result = subprocess.run(
        [str(torchrun), f"--nproc_per_node={processes}", "--standalone", "train.py", *argv],
        cwd=TRAINING_CODE, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_two_processes_train_together_and_only_rank_0_writes(train_argv, tmp_path: Path):
    common = {"max_steps": 3, "save_steps": 2, "validation_dir": "none"}
    ddp = _torchrun(train_argv(**common, model_dir=tmp_path / "ddp"))

    metrics = json.loads((tmp_path / "ddp" / "training_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 3
    assert metrics["distributed_type"] == "MULTI_CPU"
    # Each step is logged once (by rank 0), with tokens from both ranks.
    steps = re.findall(r"\[metrics\] step=(\d+) (?:.* )?train_loss=", ddp.stdout)
    assert steps == ["1", "2", "3"]
    assert re.search(METRIC_DEFINITIONS[0]["Regex"], ddp.stdout)
    # One process wrote the model; the checkpoint holds one RNG state per rank.
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == [
        "chat_template.jinja",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "system_prompts.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "training_metrics.json",
    ]
    checkpoint = tmp_path / "checkpoints" / "checkpoint-2"
    assert sorted(p.name for p in checkpoint.glob("rng_state_*.pth")) == [
        "rng_state_0.pth",
        "rng_state_1.pth",
    ]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fsdp_trains_checkpoints_and_exports_on_a_gpu(train_argv, tmp_path: Path):
    processes = min(torch.cuda.device_count(), 2)
    argv = train_argv(
        fsdp="true", max_steps=2, save_steps=1, validation_dir="none", model_dir=tmp_path / "out"
    )
    _torchrun(argv, processes=processes)
    metrics = json.loads((tmp_path / "out" / "training_metrics.json").read_text())
    assert metrics["distributed_type"] == "FSDP" and metrics["global_step"] == 2
    assert metrics["world_size"] == processes
    assert (tmp_path / "out" / "model.safetensors").is_file()
    # FSDP's checkpoint files count as a complete checkpoint to resume from.
    assert newest_checkpoint(tmp_path / "checkpoints") == tmp_path / "checkpoints" / "checkpoint-2"
