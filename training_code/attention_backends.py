"""Picks the fastest attention that keeps packed documents apart, and adds one for CPUs.

Packed rows carry several documents; each must attend only to itself. ``flash_attention_2``
does this natively from the collator's ``cu_seq_lens``. Plain ``sdpa`` does it with a
block-diagonal mask built from the position ids, but still computes the full row x row
score matrix. ``sdpa_varlen`` (registered here) computes each document's causal attention
alone: on a GPU in half precision with PyTorch's own flash kernel for packed sequences
(``torch.nn.attention.varlen``, one call per layer, no flash-attn package needed), elsewhere
with causal SDPA once per document, so a 1024-token row of 150-token documents costs ~7x less
attention. Unpacked batches and generation get plain SDPA with its mask.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
from collections.abc import Callable
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

SDPA_VARLEN = "sdpa_varlen"

# Document boundaries arrive once per forward as a tensor shared by every layer; converting it
# to a list once (not per layer) avoids a device-to-host copy in each of them.
_bounds_cache: dict[str, Any] = {"tensor": None, "bounds": []}


def _document_bounds(cu_seq_lens: torch.Tensor) -> list[int]:
    if _bounds_cache["tensor"] is not cu_seq_lens:
        _bounds_cache["tensor"] = cu_seq_lens
        _bounds_cache["bounds"] = cu_seq_lens.tolist()
    return _bounds_cache["bounds"]


def _torch_varlen_kernel() -> Callable[..., torch.Tensor] | None:
    """``varlen_attn`` with keyword arguments for causal masking, GQA and the scale, adapted to
    the PyTorch release at hand (the function appeared in 2.10 and gained options since)."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = inspect.signature(varlen_attn).parameters
    if "window_size" in params:
        causal = {"window_size": (-1, 0)}
    elif "is_causal" in params:
        causal = {"is_causal": True}
    else:
        return None
    gqa = "enable_gqa" in params
    has_scale = "scale" in params

    def run(query, key, value, cu_seq_lens, max_length, scaling):
        # (1, heads, tokens, dim) -> (tokens, heads, dim), the layout the kernel takes.
        q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))
        extra: dict[str, Any] = dict(causal)
        if q.shape[1] != k.shape[1]:
            if gqa:
                extra["enable_gqa"] = True
            else:
                groups = q.shape[1] // k.shape[1]
                k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        if scaling is not None:
            if has_scale:
                extra["scale"] = scaling
            elif scaling != q.shape[-1] ** -0.5:
                q = q * (scaling * q.shape[-1] ** 0.5)
        seq = cu_seq_lens.to(torch.int32)
        out = varlen_attn(q, k, v, seq, seq, max_length, max_length, **extra)
        return out.unsqueeze(0)  # (1, tokens, heads, dim), what attention interfaces return

    return run


_VARLEN_KERNEL = _torch_varlen_kernel()
_VARLEN_IN_TORCH = importlib.util.find_spec("torch.nn.attention.varlen") is not None


def uses_varlen_kernel(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether packed rows on this device and dtype go through PyTorch's flash varlen kernel."""
    return (
        _VARLEN_KERNEL is not None
        and device.type == "cuda"
        and dtype in (torch.float16, torch.bfloat16)
    )


def sdpa_varlen_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Causal SDPA per packed document (``cu_seq_lens_q``), or plain SDPA without packing."""
    cu_seq_lens = kwargs.pop("cu_seq_lens_q", None)
    if cu_seq_lens is None or query.shape[0] != 1 or query.shape[2] != key.shape[2]:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    if dropout == 0.0 and uses_varlen_kernel(query.device, query.dtype):
        max_length = kwargs.get("max_length_q")
        if not isinstance(max_length, int):
            max_length = int(cu_seq_lens.diff().max())
        return _VARLEN_KERNEL(query, key, value, cu_seq_lens, max_length, scaling), None
    return _per_document_sdpa(module, query, key, value, cu_seq_lens, dropout, scaling), None


# Kept out of compiled layers (layer_compile.py): the split takes its lengths from each row, so
# traced, every new row would be a new graph; outside, compiled layers take any row. The GPU
# kernel above is a custom operator that the compiler traces: there attention stays inside the
# layer's graph, where an activation memory budget can recompute it too.
@torch.compiler.disable
def _per_document_sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seq_lens: torch.Tensor,
    dropout: float,
    scaling: float | None,
) -> torch.Tensor:
    """Causal SDPA once per packed document."""
    bounds = _document_bounds(cu_seq_lens)
    # CPU kernels for bf16/fp16 attention are several times slower than fp32 ones (the
    # backward most of all, measured), and attention is a small part of the work: upcast,
    # with autocast off here, since it would cast SDPA's inputs straight back.
    dtype = query.dtype
    upcast = query.device.type == "cpu" and dtype in (torch.bfloat16, torch.float16)
    if upcast:
        query, key, value = query.float(), key.float(), value.float()
    lengths = [end - start for start, end in itertools.pairwise(bounds)]
    if bounds[0] != 0 or bounds[-1] != query.shape[2]:
        raise ValueError(f"cu_seq_lens {bounds} do not cover the {query.shape[2]} packed tokens")
    # split, not slicing: the backward of a split is one concatenation, while each slice's
    # backward fills and adds a zero tensor the size of the row (fewer kernels; the measured
    # CPU throughput stayed the same).
    parts = zip(*(t.split(lengths, dim=2) for t in (query, key, value)), strict=True)
    outputs = []
    with torch.autocast("cpu", enabled=not upcast and torch.is_autocast_enabled("cpu")):
        for q, k, v in parts:
            if q.shape[2]:
                output, _ = sdpa_attention_forward(
                    module, q, k, v, None, dropout=dropout, scaling=scaling, is_causal=True
                )
                outputs.append(output)
    return torch.cat(outputs, dim=1).to(dtype)


AttentionInterface.register(SDPA_VARLEN, sdpa_varlen_forward)
# Unpacked (padded) batches still need SDPA's mask: build it exactly as for "sdpa".
ALL_MASK_ATTENTION_FUNCTIONS.register(SDPA_VARLEN, sdpa_mask)


def flash_attention_available() -> bool:
    """True when the flash-attn package is importable and a CUDA device is present."""
    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None


def attention_report(requested: str, chosen: str, *, half_precision: bool, cuda: bool) -> str:
    """How packed rows are attended in this run and, where a faster kernel fell back, why:
    for the line ``train.py`` logs at start."""
    if chosen == "flash_attention_2":
        return "flash_attention_2 (flash-attn, packed documents kept apart)"
    if chosen != SDPA_VARLEN:
        return f"{chosen} (as configured)"
    fell_back = []
    if requested == "auto" and cuda and half_precision:
        fell_back.append("flash_attention_2, the flash-attn package is not installed")
    if cuda and half_precision and _VARLEN_KERNEL is not None:
        active = "sdpa_varlen with PyTorch's flash varlen kernel"
    else:
        active = "sdpa_varlen as causal SDPA once per document"
        if not cuda:
            why = "no CUDA device"
        elif not half_precision:
            why = "it takes bf16/fp16 only"
        elif not _VARLEN_IN_TORCH:
            why = f"torch.nn.attention.varlen needs torch >= 2.10, this is {torch.__version__}"
        else:
            why = f"torch {torch.__version__}'s varlen_attn takes no causal option"
        fell_back.append(f"PyTorch's varlen kernel, {why}")
    return f"{active} (fell back: {'; '.join(fell_back)})" if fell_back else active


def choose_attention(requested: str, *, half_precision: bool) -> str:
    """The attention implementation to load the model with.

    ``auto`` picks flash_attention_2 on a GPU with flash-attn installed (it needs bf16/fp16),
    else ``sdpa_varlen``. An explicit choice is kept; flash_attention_2 without the package
    fails here rather than deep inside model loading.
    """
    if requested == "auto":
        if half_precision and flash_attention_available():
            return "flash_attention_2"
        return SDPA_VARLEN
    if requested == "flash_attention_2" and not flash_attention_available():
        raise RuntimeError(
            "attn_implementation=flash_attention_2 needs a CUDA GPU and the flash-attn package; "
            "use auto or sdpa_varlen"
        )
    return requested
