"""Resume: a run stopped by SIGTERM after N steps and restarted ends where an uninterrupted
run ends. Same data order, optimizer, scheduler and dropout RNG, so on CPU in fp32 the final
weights agree to 1e-6 and the last logged loss to 1e-5 (relative)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train import EXIT_INTERRUPTED, main
from transformers import TrainerCallback


class SigtermAt(TrainerCallback):
    """Sends this process SIGTERM at the end of one step, as a spot reclaim would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _last_loss(model_dir: Path) -> float:
    history = json.loads((model_dir / "training_metrics.json").read_text())["log_history"]
    return [entry["train_loss"] for entry in history if "train_loss" in entry][-1]


def test_stopped_and_resumed_run_matches_an_uninterrupted_one(train_argv, tmp_path: Path):
    common = {"max_steps": 6, "save_steps": 4, "logging_steps": 2, "validation_dir": "none"}
    common["lora_dropout"] = 0.1  # so the restored RNG state matters too
    straight = train_argv(**common, model_dir=tmp_path / "a", checkpoint_dir=tmp_path / "ca")
    assert main(straight) == 0

    resumed = train_argv(**common, model_dir=tmp_path / "b", checkpoint_dir=tmp_path / "cb")
    assert main(resumed, extra_callbacks=(SigtermAt(3),)) == EXIT_INTERRUPTED
    # The interruption saved a checkpoint at step 3 (not only at save_steps) and exported nothing.
    assert (tmp_path / "cb" / "checkpoint-3" / "trainer_state.json").is_file()
    assert not (tmp_path / "b").exists()
    # SIGTERM handling was undone when training ended.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    assert main(resumed) == 0
    metrics = json.loads((tmp_path / "b" / "training_metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-3") and metrics["global_step"] == 6

    a, b = (
        load_file(tmp_path / "a" / "model.safetensors"),
        load_file(tmp_path / "b" / "model.safetensors"),
    )
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    assert _last_loss(tmp_path / "b") == pytest.approx(_last_loss(tmp_path / "a"), rel=1e-5)


def test_an_incomplete_newest_checkpoint_is_skipped(tmp_path: Path):
    from checkpoints import newest_checkpoint

    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{truncated")
    assert newest_checkpoint(tmp_path) == tmp_path / "checkpoint-2"
    assert newest_checkpoint(tmp_path / "missing") is None
