"""LoRA layers under bf16 autocast: skipping PEFT's input casts changes no number."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_setup import peft_config, skip_adapter_input_casts
from peft import get_peft_model
from train_config import MethodArgs
from transformers import AutoModelForCausalLM


def _loss_and_grads(tiny_model: Path, skip: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16)
    model = get_peft_model(base, peft_config(MethodArgs(lora_r=8, lora_dropout=0.0)))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # non-zero, so that the adapters change the output
            torch.nn.init.normal_(param, std=0.02)
    assert next(p for n, p in model.named_parameters() if "lora_A" in n).dtype == torch.float32
    changed = skip_adapter_input_casts(model, "bf16" if skip else "fp32")
    assert changed == (14 if skip else 0)  # 7 linear layers x 2 decoder layers
    ids = torch.randint(3, 200, (1, 64))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    return loss.detach(), grads


def test_skipping_the_casts_gives_identical_loss_and_gradients(tiny_model: Path):
    loss, grads = _loss_and_grads(tiny_model, skip=False)
    fast_loss, fast_grads = _loss_and_grads(tiny_model, skip=True)
    assert torch.equal(loss, fast_loss)
    assert grads.keys() == fast_grads.keys() and len(grads) == 28
    for name, grad in grads.items():
        assert torch.equal(grad, fast_grads[name]), name


def test_fp32_runs_keep_the_casts(tiny_model: Path):
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = get_peft_model(model, peft_config(MethodArgs()))
    assert skip_adapter_input_casts(model, "fp32") == 0
    assert all(
        m.cast_input_dtype_enabled
        for m in model.modules()
        if hasattr(m, "cast_input_dtype_enabled")
    )


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_runs_skip_them(tiny_model: Path, precision: str):
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model), peft_config(MethodArgs())
    )
    assert skip_adapter_input_casts(model, precision) == 14
