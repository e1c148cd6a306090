"""Per-document attention through PyTorch's flash varlen kernel, on a CUDA GPU in bf16.

CI has no GPU, so these tests skip there; they run wherever CUDA is present (see
docs/training.md for the run on an H200). The reference is causal SDPA once per document,
computed in fp32 from the same bf16 inputs.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from attention_backends import sdpa_varlen_forward, uses_varlen_kernel

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
LENGTHS = [37, 128, 5, 300, 64]  # documents packed into one 534-token row


class _Attention(torch.nn.Module):
    is_causal = True

    def __init__(self, heads: int, kv_heads: int) -> None:
        super().__init__()
        self.num_key_value_groups = heads // kv_heads
        self.training = True


def _packed(heads: int, kv_heads: int, dim: int = 64):
    torch.manual_seed(0)
    tokens = sum(LENGTHS)
    q = torch.randn(1, heads, tokens, dim, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, kv_heads, tokens, dim, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(1, kv_heads, tokens, dim, device="cuda", dtype=torch.bfloat16)
    bounds = [0, *itertools.accumulate(LENGTHS)]
    cu = torch.tensor(bounds, device="cuda", dtype=torch.int32)
    return [t.requires_grad_() for t in (q, k, v)], cu, bounds


def _reference(q, k, v, bounds):
    """fp32 causal attention per document, output as (1, tokens, heads, dim)."""
    groups = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    outs = []
    for start, end in itertools.pairwise(bounds):
        outs.append(
            torch.nn.functional.scaled_dot_product_attention(
                q[:, :, start:end].float(),
                k[:, :, start:end].float(),
                v[:, :, start:end].float(),
                is_causal=True,
            )
        )
    return torch.cat(outs, dim=2).transpose(1, 2)


@cuda
@pytest.mark.parametrize(("heads", "kv_heads"), [(8, 8), (32, 8)])
def test_varlen_kernel_matches_per_document_attention(heads: int, kv_heads: int):
    assert uses_varlen_kernel(torch.device("cuda"), torch.bfloat16), torch.__version__
    (q, k, v), cu, bounds = _packed(heads, kv_heads)
    out, _ = sdpa_varlen_forward(
        _Attention(heads, kv_heads),
        q,
        k,
        v,
        None,
        scaling=q.shape[-1] ** -0.5,
        cu_seq_lens_q=cu,
        max_length_q=max(LENGTHS),
    )
    expected = _reference(q, k, v, bounds)
    torch.testing.assert_close(out.float(), expected, atol=2e-2, rtol=2e-2)
    grad_out = torch.randn_like(expected)
    got = torch.autograd.grad(out.float(), (q, k, v), grad_out)
    want = torch.autograd.grad(expected, (q, k, v), grad_out)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g.float(), w.float(), atol=5e-2, rtol=5e-2)


@cuda
def test_attention_across_documents_is_far_outside_the_tolerance():
    """The comparison above can fail: one causal pass over the whole row differs a lot."""
    (q, k, v), _, bounds = _packed(8, 8)
    leaky = torch.nn.functional.scaled_dot_product_attention(
        q.float(), k.float(), v.float(), is_causal=True
    ).transpose(1, 2)
    assert (leaky - _reference(q, k, v, bounds)).abs().max() > 0.2


def test_kernel_is_not_used_on_cpu_or_in_fp32():
    assert not uses_varlen_kernel(torch.device("cpu"), torch.bfloat16)
    assert not uses_varlen_kernel(torch.device("cuda"), torch.float32)
