"""LoRA layers with one fused addmm: the same loss and gradients as PEFT's own forward."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch
from lora_fusion import _fused_forward, fuse_lora_updates
from model_setup import skip_adapter_input_casts
from transformers import AutoModelForCausalLM

from tests.training.helpers import lora_model


def _model(tiny_model: Path, dtype: torch.dtype, **lora: object) -> torch.nn.Module:
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=dtype)
    return lora_model(base, **lora)


def _loss_and_grads(model: torch.nn.Module, autocast: bool) -> tuple[float, dict]:
    ids = torch.randint(3, 200, (1, 64), generator=torch.Generator().manual_seed(1))
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with context:
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    return loss.item(), grads


def _fused_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [
        m
        for m in model.modules()
        if getattr(getattr(m, "forward", None), "__func__", None) is _fused_forward
    ]


@pytest.mark.parametrize(
    ("dtype", "autocast", "tolerance"),
    [(torch.float32, False, 1e-5), (torch.bfloat16, True, 2e-2)],
    ids=["fp32", "bf16-autocast"],
)
def test_fused_layers_match_peft(tiny_model: Path, dtype, autocast, tolerance):
    model = _model(tiny_model, dtype)
    if autocast:
        skip_adapter_input_casts(model, "bf16")
    loss, grads = _loss_and_grads(model, autocast)
    assert fuse_lora_updates(model) == 14  # 7 linear layers x 2 decoder layers
    assert len(_fused_layers(model)) == 14
    fused_loss, fused_grads = _loss_and_grads(model, autocast)
    assert fused_loss == pytest.approx(loss, rel=tolerance / 10)
    assert grads.keys() == fused_grads.keys() and len(grads) == 28
    for name, grad in grads.items():
        error = (fused_grads[name] - grad).norm() / grad.norm()
        assert error < tolerance, (name, float(error))


def test_merged_and_disabled_adapters_take_peft_forward(tiny_model: Path):
    model = _model(tiny_model, torch.float32)
    fuse_lora_updates(model)
    ids = torch.randint(3, 200, (1, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        adapted = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
        model.merge_adapter()
        merged = model(input_ids=ids).logits
    assert not torch.allclose(adapted, base, atol=1e-4)  # the adapters change the output
    torch.testing.assert_close(merged, adapted, atol=1e-5, rtol=1e-4)


def test_variants_and_biases_are_left_to_peft(tiny_model: Path):
    dora = _model(tiny_model, torch.float32, use_dora=True)
    expected, _ = _loss_and_grads(dora, autocast=False)
    fuse_lora_updates(dora)
    assert _loss_and_grads(dora, autocast=False)[0] == expected  # PEFT's forward, bit for bit

    biased = _model(tiny_model, torch.float32, lora_bias=True)
    expected, _ = _loss_and_grads(biased, autocast=False)
    fuse_lora_updates(biased)
    assert _loss_and_grads(biased, autocast=False)[0] == expected


@pytest.mark.parametrize(("flag", "expected"), [("true", 14), ("false", 0)])
def test_train_py_fuses_unless_told_not_to(train_argv, flag: str, expected: int):
    import train
    from config_loader import build_config

    config = build_config(train_argv(fused_lora=flag))
    trainer, _, _ = train._trainer(config, ())
    assert len(_fused_layers(trainer.model)) == expected


def test_a_half_precision_base_without_autocast_is_left_to_peft(tiny_model: Path):
    model = _model(tiny_model, torch.bfloat16)  # fp32 adapters: PEFT casts their inputs
    expected, _ = _loss_and_grads(model, autocast=False)
    fuse_lora_updates(model)
    assert _loss_and_grads(model, autocast=False)[0] == expected
