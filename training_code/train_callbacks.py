"""Trainer callbacks: metric lines for SageMaker, and a clean stop on SIGTERM (spot reclaim)."""

from __future__ import annotations

import signal
import time
from typing import Any

import torch
from transformers import TrainerCallback

# Keys of the trainer's log dicts -> names in the metric lines (contracts.metrics).
_RENAMED = {"loss": "train_loss", "train_loss": "mean_train_loss"}  # the latter: whole run
_SKIPPED = {"total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second"}


def metric_values(logs: dict[str, Any]) -> dict[str, Any]:
    """A trainer log dict under the metric lines' names."""
    return {_RENAMED.get(k, k): v for k, v in logs.items() if k not in _SKIPPED}


def format_metrics(step: int, values: dict[str, float]) -> str:
    """``[metrics] step=10 train_loss=1.2345 ...``: one line, ``key=value`` pairs."""
    parts = [f"step={step}"]
    for key, value in values.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:.6g}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key}={value}")
    return "[metrics] " + " ".join(parts)


class MetricLines(TrainerCallback):
    """Prints a metric line per log (rank 0 only) and keeps them for ``training_metrics.json``.

    ``tokens_per_second`` counts the tokens the model saw (no padding: packed rows have none,
    and TRL counts padded batches by their attention mask), across all processes.
    """

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self._last_time: float | None = None
        self._last_tokens = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_time = time.perf_counter()
        self._last_tokens = 0.0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        values = metric_values(logs)
        tokens = logs.get("num_tokens")
        now = time.perf_counter()
        # TRL's token count starts at zero in every process, resumed or not.
        if tokens is not None and self._last_time is not None and tokens > self._last_tokens:
            values["tokens_per_second"] = (tokens - self._last_tokens) / (now - self._last_time)
            self._last_tokens, self._last_time = tokens, now
        values["epoch"] = round(state.epoch or 0.0, 4)
        self.history.append({"step": state.global_step, **values})
        print(format_metrics(state.global_step, values), flush=True)


class StopOnSignal(TrainerCallback):
    """On SIGTERM, finishes the current step, saves a checkpoint and stops training.

    SageMaker sends SIGTERM before reclaiming a spot instance or when a job is stopped; the
    checkpoint lets the next attempt resume. ``interrupted`` tells the caller not to export.
    """

    def __init__(self) -> None:
        self.interrupted = False
        self._requested = False
        self._previous: Any = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._previous = signal.signal(signal.SIGTERM, self._on_signal)

    def on_train_end(self, args, state, control, **kwargs):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._requested = True

    def _agreed(self) -> bool:
        # Every rank must stop at the same step, or the checkpoint's collectives would hang.
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return self._requested
        flag = torch.tensor([1.0 if self._requested else 0.0])
        if torch.distributed.get_backend() == "nccl":
            flag = flag.cuda()
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return bool(flag.item())

    def on_step_end(self, args, state, control, **kwargs):
        if self._agreed():
            self.interrupted = True
            control.should_save = True
            control.should_training_stop = True
            if state.is_world_process_zero:
                print(f"SIGTERM: saving a checkpoint at step {state.global_step} and stopping")
