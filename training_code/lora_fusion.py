"""One addmm per LoRA update instead of a matmul, a multiply and an add.

PEFT computes a LoRA linear layer as ``base(x) + lora_B(lora_A(x)) * scaling``: after the two
adapter matmuls, a multiply and an add over the whole ``tokens x out_features`` output, and in
the backward one more multiply of the same size. ``torch.addmm`` does the second matmul, the
scaling and the addition in one kernel (its backward scales only the rank-sized products), so
each LoRA layer reads and writes its output once instead of three times. On a 2-core Xeon this
made SmolLM2 LoRA training 1.12-1.21x faster (docs/training.md); on a GPU it is fewer kernels
for a host-bound step. Loss and gradients match PEFT's to rounding
(tests/training/test_lora_fusion.py).

Only plain LoRA on ``torch.nn.Linear`` is fused. Everything else (DoRA and other variants,
adapter biases, several active adapters, merged or disabled adapters, mixed-adapter batches,
4-bit bases) runs PEFT's own forward.
"""

from __future__ import annotations

import types
from typing import Any

import torch


def _fusable(layer: Any) -> bool:
    from peft.tuners.lora.layer import Linear

    return (
        type(layer) is Linear
        and type(layer.base_layer) is torch.nn.Linear
        and not layer.fan_in_fan_out
    )


def _fused_forward(self: Any, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    active = self.active_adapters
    if (
        args
        or kwargs
        or self.disable_adapters
        or self.merged
        or len(active) != 1
        or active[0] not in self.lora_A
        or active[0] in self.lora_variant
        or self.lora_bias.get(active[0], False)
    ):
        return type(self).forward(self, x, *args, **kwargs)
    name = active[0]
    lora_A, lora_B = self.lora_A[name], self.lora_B[name]
    if (
        not torch.is_autocast_enabled(x.device.type)
        and self.base_layer.weight.dtype != lora_A.weight.dtype
    ):
        # No autocast to bring the operands to one dtype: PEFT's forward casts them.
        return type(self).forward(self, x)
    result = self.base_layer(x)
    hidden = lora_A(self.lora_dropout[name](self._cast_input_dtype(x, lora_A.weight.dtype)))
    out = result.shape[-1]
    fused = torch.addmm(
        result.reshape(-1, out),
        hidden.reshape(-1, hidden.shape[-1]),
        lora_B.weight.t(),
        alpha=self.scaling[name],
    )
    return fused.view(result.shape).to(result.dtype)


def fuse_lora_updates(model: torch.nn.Module) -> int:
    """Routes every plain LoRA linear layer of ``model`` through one ``addmm``; returns how
    many layers were changed (0 for full fine-tuning or 4-bit bases)."""
    changed = 0
    for module in model.modules():
        if hasattr(module, "lora_A") and _fusable(module):
            module.forward = types.MethodType(_fused_forward, module)
            changed += 1
    return changed
