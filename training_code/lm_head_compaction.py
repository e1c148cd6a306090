"""Scoring only the positions that have a label, on every device.

TRL's fused LM head projects hidden states to the vocabulary in tiles. On CUDA it scores only
positions whose next-token label is not -100; elsewhere it scores every position, to keep
tile shapes fixed for compilers such as Neuron's. Eager CPU training has no such constraint,
and with assistant-only loss most positions are prompt (85% of a text-to-SQL sample), so
scoring them all makes the 49k-wide vocabulary projection the most expensive part of a step.
The loss and gradients are identical either way (tests/training/test_packing.py).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def score_labelled_positions_only() -> bool:
    """Makes TRL's fused LM head compact on CPU too; returns False if TRL changed shape."""
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        log.warning("trl has no fused-LM-head switch: every position will be scored")
        return False
    if getattr(original, "_compact_on_cpu", False):
        return True

    def compact(device: torch.device) -> bool:
        return device.type == "cpu" or original(device)

    compact._compact_on_cpu = True  # type: ignore[attr-defined]
    trl_utils._use_triton = compact
    return True
