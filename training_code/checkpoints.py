"""Finding the checkpoint to resume from.

The trainer writes ``checkpoint-<step>/`` folders, ``trainer_state.json`` last; SageMaker's
upload to S3 and its download at a restart keep no order. A folder that lacks the state, the
weights, the optimizer or the LR schedule (a spot reclaim mid-save, or a partial sync) is skipped
for the one before it: the trainer would resume from it without a word, with a fresh optimizer
and a schedule started over.

A checkpoint is resumed only by the run that wrote it: ``run.json``, next to the checkpoint
folders (and synced to S3 with them), records what defines the run, and a start whose
configuration or training data differ is refused rather than resumed (a different LoRA rank
failed with a size-mismatch traceback; a different learning rate or data set, resumed at the
last step, exported the earlier run's model as if it were this one's).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import container_env
from config_values import ConfigError
from train_config import TrainConfig

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
RUN_FILE = "run.json"
# Keys that may differ between a run and its restart, so the record leaves them out: where the
# outputs go (SageMaker's paths are the same at a spot restart; a local run may move them),
# whether to resume, how often to log, save and evaluate, what to evaluate on and how to export
# (evaluation and export change no trained weight: a finished run may be exported again with
# --save_merged false), and how fast or in how much memory the same steps run (a restart after
# running out of memory may turn on gradient checkpointing). The training data are recorded by
# their content instead of their folder (the channel's path is the same for any data set).
NOT_THE_RUN = frozenset(
    {
        "checkpoint_dir",
        "model_dir",
        "output_data_dir",
        "resume",
        "logging_steps",
        "save_steps",
        "save_total_limit",
        "validation_dir",
        "max_eval_samples",
        "per_device_eval_batch_size",
        "eval_steps",
        "eval_on_start",
        "save_merged",
        "attn_implementation",
        "gradient_checkpointing",
        "use_liger_kernel",
        "fused_lora",
        "compile_layers",
        "activation_memory_budget",
        "offload_input_embeddings",
        "dataloader_num_workers",
        "train_dir",
    }
)


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


def run_identity(config: TrainConfig) -> dict[str, Any]:
    """What defines the run: every key that changes what is trained (``NOT_THE_RUN`` aside), and
    ``train_data``, the training file's name, size and content hash (a channel's path says
    nothing about what is in it; modification times change at every download)."""
    identity = {
        key: value
        for section in config.as_dict().values()
        for key, value in section.items()
        if key not in NOT_THE_RUN
    }
    path = container_env.data_file(config.data.train_dir, container_env.TRAIN_FILE, "train")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    size = path.stat().st_size
    identity["train_data"] = f"{path.name}, {size} bytes, sha256 {digest.hexdigest()[:16]}"
    return json.loads(json.dumps(identity))  # as it reads back from the file


def check_same_run(checkpoint_dir: str | Path, identity: dict[str, Any], resume: Path) -> None:
    """Fails unless the run recorded in ``checkpoint_dir`` is the run ``identity`` describes.

    A folder without a record (checkpoints of an older version) resumes, with a warning. Keys
    that only one side has (added or removed by a newer version) are not compared.

    Raises:
        ConfigError: the recorded run differs, naming each key (old -> new).
    """
    path = Path(checkpoint_dir) / RUN_FILE
    recorded = _read_record(path)
    if recorded is None:
        log.warning(
            "%s has no readable %s (written before runs were recorded): resuming from %s "
            "without checking that this configuration wrote it",
            checkpoint_dir,
            RUN_FILE,
            resume.name,
        )
        return
    changed = [
        f"{key} {recorded[key]!r} -> {value!r}"
        for key, value in identity.items()
        if key in recorded and recorded[key] != value
    ]
    if changed:
        raise ConfigError(
            f"checkpoint_dir {checkpoint_dir} holds checkpoints of a different run "
            f"({', '.join(changed)}; recorded in {RUN_FILE}): empty the folder to start over, "
            "or use another --checkpoint_dir"
        )


def record_run(checkpoint_dir: str | Path, identity: dict[str, Any]) -> None:
    """Writes ``identity`` to ``checkpoint_dir/run.json`` (rank 0 only) unless it is there:
    atomically, since the other ranks may be reading it. A folder that cannot be written is
    left to fail at the first checkpoint, as before: a run shorter than ``save_steps`` (locally,
    with the default /opt/ml/checkpoints) writes none."""
    path = Path(checkpoint_dir) / RUN_FILE
    if _read_record(path) == identity:
        return
    partial = path.with_name(f".{RUN_FILE}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"run": identity}, indent=2) + "\n")
        os.replace(partial, path)
    except OSError as error:
        log.warning("cannot record the run in %s: %s", path, error)


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads(path.read_text()).get("run")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, dict) else None
