"""Resume: a run stopped by SIGTERM after N steps and restarted ends where an uninterrupted
run ends. Same data order, optimizer, scheduler and dropout RNG, so on CPU in fp32 the final
weights agree to 1e-6 and the last logged loss to 1e-5 (relative)."""

from __future__ import annotations

import json
import os
import shutil
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


def test_checkpoints_of_a_different_run_are_refused_naming_what_differs(
    train_argv, channels: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    run = {"max_steps": 2, "save_steps": 2, "validation_dir": "none"}
    assert main(train_argv(**run)) == 0
    refusal = (
        f"error: checkpoint_dir {tmp_path / 'checkpoints'} holds checkpoints of a different run "
        "({}; recorded in run.json): empty the folder to start over, or use another "
        "--checkpoint_dir"
    )
    # A change of shape (which failed with a size-mismatch traceback) and a silent one (which
    # exported the earlier run's model as this one's) are both refused, before any export.
    for change, differs in (
        ({"lora_r": 4}, "lora_r 16 -> 4"),
        ({"learning_rate": 0.1}, "learning_rate 0.001 -> 0.1"),
        ({"lora_r": 8, "seed": 7}, "lora_r 16 -> 8, seed 42 -> 7"),
    ):
        assert main(train_argv(**run, **change, model_dir=tmp_path / "other")) == 1
        assert capsys.readouterr().err.splitlines()[-1] == refusal.format(differs)
    # Other training data, in a folder of another name: recorded by content, not by path.
    assert main(train_argv(**run, train_dir=channels["validation"])) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert "(train_data 'train.jsonl, " in last and " -> 'validation.jsonl, " in last
    assert not (tmp_path / "other").exists()

    # --resume false beside them is refused too: this run would record itself as theirs, and
    # a restart would resume from them (the earlier run's model, exported as this one's).
    assert main(train_argv(**run, learning_rate=0.1, resume="false")) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: checkpoint_dir {tmp_path / 'checkpoints'} holds checkpoints up to checkpoint-2: "
        "with resume false this run would start at step 0 beside them, and a restart would "
        "resume from theirs; empty the folder or use another --checkpoint_dir"
    )
    record = json.loads((tmp_path / "checkpoints" / "run.json").read_text())["run"]
    assert record["learning_rate"] == 0.001
    # Emptied, the folder takes the new run.
    shutil.rmtree(tmp_path / "checkpoints")
    assert main(train_argv(**run, learning_rate=0.1, resume="false")) == 0
    metrics = json.loads((tmp_path / "model" / "training_metrics.json").read_text())
    assert (metrics["resumed_from"], metrics["steps_run"]) == (None, 2)
    record = json.loads((tmp_path / "checkpoints" / "run.json").read_text())["run"]
    assert record["learning_rate"] == 0.1


def test_a_restart_that_moves_outputs_and_data_or_changes_logging_still_resumes(
    train_argv, channels: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    import shutil

    assert main(train_argv(max_steps=2, save_steps=2, validation_dir="none")) == 0
    shutil.move(tmp_path / "checkpoints", tmp_path / "moved")
    shutil.copytree(channels["train"], tmp_path / "data")
    restart = train_argv(
        max_steps=2,
        validation_dir="none",
        checkpoint_dir=tmp_path / "moved",
        train_dir=tmp_path / "data",
        model_dir=tmp_path / "b",
        output_data_dir=tmp_path / "out_b",
        logging_steps=5,
        save_steps=1,
        save_total_limit=3,
        save_merged="false",
        gradient_checkpointing="true",
    )
    assert main(restart) == 0
    metrics = json.loads((tmp_path / "b" / "training_metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-2") and metrics["steps_run"] == 0

    # Checkpoints written before runs were recorded resume as before, with a warning.
    (tmp_path / "moved" / "run.json").unlink()
    with caplog.at_level("WARNING", logger="checkpoints"):
        assert main(restart) == 0
    assert "has no readable run.json" in caplog.text
    metrics = json.loads((tmp_path / "b" / "training_metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-2")
    assert (tmp_path / "moved" / "run.json").is_file()  # recorded for the next restart


def test_a_checkpoint_folder_that_cannot_be_written_is_left_to_the_trainer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    from checkpoints import record_run

    (tmp_path / "file").write_text("")
    with caplog.at_level("WARNING", logger="checkpoints"):
        record_run(tmp_path / "file" / "checkpoints", {"lora_r": 16})
    assert "cannot record the run" in caplog.text
