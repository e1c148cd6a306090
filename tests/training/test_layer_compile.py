"""Compiled decoder layers: eager PEFT's loss and gradients, one compilation for packed rows
of any length, and less kept for the backward under an activation memory budget."""

from __future__ import annotations

import itertools
from pathlib import Path

import attention_backends
import pytest
import torch
from config_values import ConfigError
from layer_compile import check_compiler, compile_decoder_layers, decoder_layers
from lm_head_compaction import score_labelled_positions_only
from lora_fusion import fuse_lora_updates
from sft_tokenize import tokenize_conversation
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling
from trl.trainer.utils import add_fused_lm_head

from tests.training.helpers import lora_model, sql_records


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
    model = lora_model(base)
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


def _steps_compiling_once(model: torch.nn.Module, rows: list[dict]) -> list[tuple]:
    """``_step`` on each row; after the first, a recompilation fails the step."""
    first = _step(model, rows[0])
    torch._dynamo.config.error_on_recompile = True  # other lengths reuse the graphs
    try:
        return [first] + [_step(model, row) for row in rows[1:]]
    finally:
        torch._dynamo.config.error_on_recompile = False


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
    compiled = _steps_compiling_once(model, rows)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2  # it did compile
    for expected, actual in zip(eager, compiled, strict=True):
        _assert_same(expected, actual)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_compiled_layers_on_cuda_match_eager_and_compile_once(tiny_model: Path, rows):
    """The GPU path: bf16 autocast, PyTorch's varlen flash kernel, Triton kernels."""
    model = _model(tiny_model, "cuda")
    eager = [_step(model, row) for row in rows]
    compile_decoder_layers(model, activation_memory_budget=0.0)
    compiled = _steps_compiling_once(model, rows)
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


# A CPU stand-in for PyTorch's varlen flash kernel, built the same way: a custom operator for the
# forward and one for the backward, each with a fake (shape-only) implementation, so that the
# compiler traces it as one opaque node. It lets a CPU check that on a GPU attention stays inside
# each compiled layer, where budget 0 recomputes it like everything else.
def _reference_attention(q, k, v, cu_seq_lens, scale):
    bounds = cu_seq_lens.tolist()
    parts = []
    for start, end in itertools.pairwise(bounds):
        q_, k_, v_ = (t[start:end].transpose(0, 1) for t in (q, k, v))
        out = torch.nn.functional.scaled_dot_product_attention(
            q_, k_, v_, is_causal=True, scale=scale, enable_gqa=True
        )
        parts.append(out.transpose(0, 1))
    return torch.cat(parts)


@torch.library.custom_op("llm_ft_test::varlen_attn", mutates_args=())
def _varlen_op(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seq_lens: torch.Tensor, scale: float
) -> torch.Tensor:
    return _reference_attention(q, k, v, cu_seq_lens, scale)


@torch.library.custom_op("llm_ft_test::varlen_attn_backward", mutates_args=())
def _varlen_backward_op(
    grad: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu_seq_lens: torch.Tensor,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Attention's backward written out (operators run without autograd here), per document:
    dV = P^T dO, dS = P * (dO V^T - rowsum(dO * O)), dQ = dS K s, dK = dS^T Q s."""
    groups = q.shape[1] // k.shape[1]
    bounds = cu_seq_lens.tolist()
    dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
    for start, end in itertools.pairwise(bounds):
        q_, do = (t[start:end].transpose(0, 1) for t in (q, grad))  # (heads, n, dim)
        k_, v_ = (t[start:end].transpose(0, 1).repeat_interleave(groups, 0) for t in (k, v))
        scores = q_ @ k_.transpose(1, 2) * scale
        causal = torch.ones(end - start, end - start, dtype=torch.bool).tril()
        p = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        d_scores = p * (do @ v_.transpose(1, 2) - (do * (p @ v_)).sum(-1, keepdim=True))
        dq[start:end] = (d_scores @ k_ * scale).transpose(0, 1)
        for out, value in (
            (dk, d_scores.transpose(1, 2) @ q_ * scale),
            (dv, p.transpose(1, 2) @ do),
        ):
            out[start:end] = value.unflatten(0, (-1, groups)).sum(1).transpose(0, 1)
    return dq, dk, dv


@_varlen_op.register_fake
def _(q, k, v, cu_seq_lens, scale):
    return torch.empty_like(q)


@_varlen_backward_op.register_fake
def _(grad, q, k, v, cu_seq_lens, scale):
    return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)


def _setup(ctx, inputs, output):
    q, k, v, cu_seq_lens, scale = inputs
    ctx.save_for_backward(q, k, v, cu_seq_lens)
    ctx.scale = scale


def _backward(ctx, grad):
    q, k, v, cu_seq_lens = ctx.saved_tensors
    return (*_varlen_backward_op(grad, q, k, v, cu_seq_lens, ctx.scale), None, None)


_varlen_op.register_autograd(_backward, setup_context=_setup)


def _stand_in_varlen_attn(
    query,
    key,
    value,
    cu_seq_q,
    cu_seq_k,
    max_q,
    max_k,
    *,
    scale=None,
    window_size=(-1, -1),
    enable_gqa=False,
):
    """torch.nn.attention.varlen.varlen_attn's signature (PyTorch 2.13), on the CPU."""
    assert window_size == (-1, 0) and enable_gqa and cu_seq_k is cu_seq_q
    assert isinstance(max_q, (int, torch.SymInt))
    return _varlen_op(query, key, value, cu_seq_q, scale or query.shape[-1] ** -0.5)


@pytest.fixture
def traceable_varlen_kernel(monkeypatch):
    """sdpa_varlen as on a GPU: packed rows go to the varlen kernel (here the stand-in)."""
    monkeypatch.setattr(torch.nn.attention.varlen, "varlen_attn", _stand_in_varlen_attn)
    monkeypatch.setattr(
        attention_backends, "_VARLEN_KERNEL", attention_backends._torch_varlen_kernel()
    )
    monkeypatch.setattr(attention_backends, "uses_varlen_kernel", lambda device, dtype: True)


@needs_compiler
def test_a_traceable_varlen_kernel_compiles_into_the_layer(
    tiny_model: Path, rows, monkeypatch, traceable_varlen_kernel
):
    """With a kernel the compiler can trace (the GPU's), attention is part of each layer's graph:
    no graph break, eager's loss and gradients, one compilation for every row, and at budget 0
    far less kept for the backward than with attention between two graphs (the CPU's path)."""
    with monkeypatch.context() as plain:  # the CPU's own per-document path, for reference
        plain.setattr(attention_backends, "uses_varlen_kernel", lambda device, dtype: False)
        model = _model(tiny_model)
        eager = [_step(model, row) for row in rows]
        compile_decoder_layers(model, activation_memory_budget=0.0)
        outside = _step(model, rows[2])
        breaks_outside = sum(torch._dynamo.utils.counters["graph_break"].values())
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model = _model(tiny_model)
    assert [_step(model, row)[0] for row in rows] == pytest.approx([e[0] for e in eager])
    compile_decoder_layers(model, activation_memory_budget=0.0)
    compiled = _steps_compiling_once(model, rows)
    assert breaks_outside > 0
    assert sum(torch._dynamo.utils.counters["graph_break"].values()) == 0
    for expected, actual in zip(eager, compiled, strict=True):
        _assert_same(expected, actual)
    # Measured on the tiny Llama: 3.2 MB kept with attention outside the graph, 0.74 MB inside.
    assert compiled[2][2] < 0.35 * outside[2], (outside[2], compiled[2][2])
