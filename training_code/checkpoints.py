"""Finding the checkpoint to resume from.

The trainer writes ``checkpoint-<step>/`` folders, ``trainer_state.json`` last. A folder that
lacks it (a spot reclaim mid-save, or a partial S3 sync) is skipped for the one before it.
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


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds weights and a readable trainer state."""
    state = folder / "trainer_state.json"
    if not state.is_file() or not any((folder / name).exists() for name in WEIGHT_FILES):
        return False
    try:
        json.loads(state.read_text())
    except ValueError:
        return False
    return True


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
