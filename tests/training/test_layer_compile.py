"""Compiled decoder layers: eager PEFT's loss and gradients, one compilation for packed rows
of any length, and less kept for the backward under an activation memory budget."""

from __future__ import annotations

from pathlib import Path

import attention_backends  # noqa: F401  (registers sdpa_varlen)
import pytest
import torch
from config_values import ConfigError
from layer_compile import check_compiler, compile_decoder_layers, decoder_layers
from lm_head_compaction import score_labelled_positions_only
from lora_fusion import fuse_lora_updates
from model_setup import peft_config
from peft import get_peft_model
from sft_tokenize import tokenize_conversation
from train_config import MethodArgs
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling
from trl.trainer.utils import add_fused_lm_head

from tests.training.helpers import sql_records


def _has_compiler() -> bool:
    try:
        check_compiler()
    except ConfigError:
        return False
    return True


needs_compiler = pytest.mark.skipif(
    not _has_compiler(), reason="Inductor builds CPU kernels with a C++ compiler; none found"
)


@pytest.fixture(scope="module")
def rows(tiny_model: Path) -> list[dict[str, torch.Tensor]]:
    """Three packed rows of 5, 3 and 8 documents: three lengths, three document counts."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    samples = [tokenize_conversation(tokenizer, r["messages"]) for r in sql_records(16)]
    samples = [{"input_ids": s.input_ids, "labels": s.labels} for s in samples]
    collator = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=True)
    return [collator(samples[:5]), collator(samples[5:8]), collator(samples[8:])]


@pytest.fixture(autouse=True)
def fresh_compiler():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _model(tiny_model: Path, device: str = "cpu") -> torch.nn.Module:
    """The fast path's LoRA model on the tiny Llama: per-document attention, fused adapters,
    the LM head scored at labelled positions only; on CUDA a bf16 base, as train.py loads it."""
    score_labelled_positions_only()
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(
        tiny_model, attn_implementation="sdpa_varlen", dtype=dtype
    ).to(device)
    add_fused_lm_head(base, outputs=("log_probs", "entropy", "is_top1"))
    model = get_peft_model(base, peft_config(MethodArgs(lora_r=8, lora_dropout=0.0)))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # non-zero, so that every adapter gradient is non-zero
            torch.nn.init.normal_(param, std=0.02)
    fuse_lora_updates(model)
    return model


def _step(model: torch.nn.Module, row: dict) -> tuple[float, dict, int]:
    """Loss, adapter gradients and the bytes the autograd graph keeps for the backward (model
    parameters excluded), of one forward and backward pass."""
    model.zero_grad()
    device = next(model.parameters()).device
    row = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in row.items()}
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        loss = model(**row, use_cache=False, fused_lm_head=True).loss
    saved = _saved_bytes(loss.grad_fn, {p.untyped_storage().data_ptr() for p in model.parameters()})
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return loss.item(), grads, saved


def _saved_bytes(root: torch.autograd.graph.Node, exclude: set[int]) -> int:
    storages: dict[int, int] = {}
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        tensors = [t for t in getattr(node, "saved_tensors", None) or () if t is not None]
        for attribute in dir(node):  # built-in operators: _saved_self, _saved_other, ...
            if attribute.startswith("_saved_"):
                value = getattr(node, attribute, None)
                if isinstance(value, torch.Tensor):
                    tensors.append(value)
        for tensor in tensors:
            storage = tensor.untyped_storage()
            if storage.data_ptr() not in exclude:
                storages[storage.data_ptr()] = storage.nbytes()
        stack.extend(next_node for next_node, _ in node.next_functions)
    return sum(storages.values())


def _assert_same(expected: tuple, actual: tuple, tolerance: float = 1e-4) -> None:
    assert actual[0] == pytest.approx(expected[0], rel=tolerance / 10)
    assert actual[1].keys() == expected[1].keys() and len(expected[1]) == 28
    for name, grad in expected[1].items():
        error = (actual[1][name] - grad).norm() / grad.norm()
        assert error < tolerance, (name, float(error))


@needs_compiler
def test_compiled_layers_match_eager_and_compile_once(tiny_model: Path, rows):
    model = _model(tiny_model)
    eager = [_step(model, row) for row in rows]
    assert compile_decoder_layers(model) == 2
    assert len(decoder_layers(model)) == 2
    first = _step(model, rows[0])
    torch._dynamo.config.error_on_recompile = True  # other lengths reuse the graphs
    try:
        compiled = [first] + [_step(model, row) for row in rows[1:]]
    finally:
        torch._dynamo.config.error_on_recompile = False
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2  # it did compile
    for expected, actual in zip(eager, compiled, strict=True):
        _assert_same(expected, actual)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_compiled_layers_on_cuda_match_eager_and_compile_once(tiny_model: Path, rows):
    """The GPU path: bf16 autocast, PyTorch's varlen flash kernel, Triton kernels."""
    model = _model(tiny_model, "cuda")
    eager = [_step(model, row) for row in rows]
    compile_decoder_layers(model, activation_memory_budget=0.0)
    first = _step(model, rows[0])
    torch._dynamo.config.error_on_recompile = True
    try:
        compiled = [first] + [_step(model, row) for row in rows[1:]]
    finally:
        torch._dynamo.config.error_on_recompile = False
    for expected, actual in zip(eager, compiled, strict=True):
        _assert_same(expected, actual, tolerance=2e-2)
        assert actual[2] < expected[2]


@needs_compiler
def test_a_lower_budget_keeps_less_for_the_backward(tiny_model: Path, rows):
    model = _model(tiny_model)
    eager = _step(model, rows[2])
    compile_decoder_layers(model, activation_memory_budget=1.0)
    full = _step(model, rows[2])
    compile_decoder_layers(model, activation_memory_budget=0.0)  # replaces the graphs above
    lean = _step(model, rows[2])
    _assert_same(eager, full)
    _assert_same(eager, lean)
    assert full[2] < eager[2]  # the partitioner already recomputes cheap elementwise results
    # Measured on the tiny Llama: eager 7.0 MB, compiled 6.2 MB, budget 0 3.2 MB.
    assert lean[2] < 0.6 * full[2], (eager[2], full[2], lean[2])


@needs_compiler
def test_train_py_compiles_the_layers(train_argv, caplog):
    import train

    caplog.set_level("INFO", logger="train")
    argv = train_argv(
        compile_layers="true", activation_memory_budget=0.5, max_steps=2, validation_dir=None
    )
    assert train.main(argv) == 0
    assert "decoder layers compiled (at the first step): 2" in caplog.text
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2


def test_a_cpu_without_a_compiler_fails_at_start(monkeypatch):
    import layer_compile

    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(layer_compile.shutil, "which", lambda name: None)
    monkeypatch.setattr(layer_compile.torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="compile_layers=true on CPU needs a C\\+\\+ compiler"):
        check_compiler()
