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
    # The history holds the whole run: the steps logged before the interruption came back from
    # the checkpoint.
    assert _loss_steps(tmp_path / "b") == _loss_steps(tmp_path / "a") == [1, 2, 4, 6]


def _loss_steps(model_dir: Path) -> list[int]:
    history = json.loads((model_dir / "training_metrics.json").read_text())["log_history"]
    return [entry["step"] for entry in history if "train_loss" in entry]


def test_a_restart_after_the_last_checkpoint_trains_nothing_and_reports_no_loss_of_its_own(
    train_argv, tmp_path: Path
):
    argv = train_argv(max_steps=4, save_steps=2, logging_steps=1, validation_dir="none")
    assert main(argv) == 0
    first = json.loads((tmp_path / "model" / "training_metrics.json").read_text())
    # Restarted after the export (a spot reclaim before the job ended, say).
    assert main(argv) == 0
    again = json.loads((tmp_path / "model" / "training_metrics.json").read_text())
    assert again["resumed_from"].endswith("checkpoint-4")
    assert (again["steps_run"], again["train_loss"], again["train_tokens_per_second"]) == (
        0,
        None,
        None,
    )
    assert first["steps_run"] == 4 and first["train_loss"] > 0
    assert _loss_steps(tmp_path / "model") == [1, 2, 3, 4]


def test_an_incomplete_newest_checkpoint_is_skipped(tmp_path: Path):
    from checkpoints import newest_checkpoint

    files = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")
    for step in (2, 4, 6, 8, 10):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in files:
            (folder / name).write_text("{}")
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{truncated")
    # Synced in part: without the optimizer or the schedule the trainer would start both afresh.
    (tmp_path / "checkpoint-6" / "optimizer.pt").unlink()
    (tmp_path / "checkpoint-8" / "scheduler.pt").unlink()
    (tmp_path / "checkpoint-10" / "trainer_state.json").unlink()
    assert newest_checkpoint(tmp_path) == tmp_path / "checkpoint-2"
    assert newest_checkpoint(tmp_path / "missing") is None
