"""Finding the checkpoint to resume from.

The trainer writes ``checkpoint-<step>/`` folders, ``trainer_state.json`` last; SageMaker's
upload to S3 and its download at a restart keep no order. A folder that lacks the state, the
weights, the optimizer or the LR schedule (a spot reclaim mid-save, or a partial sync) is skipped
for the one before it: the trainer would resume from it without a word, with a fresh optimizer
and a schedule started over.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = (
    "adapter_model.safetensors",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model_fsdp_0",
)
OPTIMIZER_FILES = ("optimizer.pt", "optimizer.bin", "optimizer_0")  # plain, FSDP full, sharded
SCHEDULER_FILE = "scheduler.pt"


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds weights, the optimizer, the LR schedule and a readable state."""
    state = folder / "trainer_state.json"
    if not (
        state.is_file()
        and (folder / SCHEDULER_FILE).is_file()
        and all(
            any((folder / name).exists() for name in group)
            for group in (WEIGHT_FILES, OPTIMIZER_FILES)
        )
    ):
        return False
    try:
        json.loads(state.read_text())
    except ValueError:
        return False
    return True


def checkpoint_step(folder: Path) -> int:
    """The optimizer step a ``checkpoint-<step>`` folder was saved at."""
    match = _CHECKPOINT.match(folder.name)
    if not match:
        raise ValueError(f"{folder} is not a checkpoint-<step> folder")
    return int(match.group(1))


def ends_the_run(folder: Path, max_steps: int, num_train_epochs: float) -> bool:
    """True when ``folder`` was saved at the last step of the run configured now: a restart after
    training ended (a spot reclaim during the export, say), with nothing left to train."""
    state = json.loads((folder / "trainer_state.json").read_text())
    if max_steps > 0:
        return state["global_step"] >= max_steps
    # An epoch-based run: the checkpoint's own plan counts only if the epochs are unchanged.
    return state.get("num_train_epochs") == num_train_epochs and state["global_step"] >= state.get(
        "max_steps", float("inf")
    )


def newest_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step in ``checkpoint_dir``, or None."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return None
    found = sorted(
        (int(match.group(1)), path)
        for path in root.iterdir()
        if path.is_dir() and (match := _CHECKPOINT.match(path.name))
    )
    for step, path in reversed(found):
        if is_complete(path):
            return path
        log.warning("skipping incomplete checkpoint %s (step %d)", path, step)
    return None
