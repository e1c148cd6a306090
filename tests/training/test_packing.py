"""Padding-free packing keeps documents apart: a packed batch's loss and gradients equal the
same samples run one by one (fp32, tolerance 1e-5 relative)."""

from __future__ import annotations

from pathlib import Path

import attention_backends  # noqa: F401  (registers sdpa_varlen)
import pytest
import torch
from lm_head_compaction import score_labelled_positions_only
from sft_tokenize import IGNORE_INDEX, tokenize_conversation
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling
from trl.trainer.utils import add_fused_lm_head

from tests.training.helpers import sql_records


@pytest.fixture(scope="module")
def samples(tiny_model: Path) -> list[dict[str, list[int]]]:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenized = [tokenize_conversation(tokenizer, r["messages"]) for r in sql_records(5)]
    return [{"input_ids": s.input_ids, "labels": s.labels} for s in tokenized]


def _loss_and_grad(model, batch: dict) -> tuple[float, int, torch.Tensor]:
    model.zero_grad()
    out = model(**batch, use_cache=False, fused_lm_head=True)
    count = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    (out.loss * count).backward()  # summed token loss, so per-sample runs add up
    grad = model.model.layers[0].self_attn.q_proj.weight.grad.clone()
    return out.loss.item() * count, count, grad


@pytest.mark.parametrize("attention", ["sdpa_varlen", "sdpa", "eager"])
def test_packed_batch_equals_samples_one_by_one(tiny_model: Path, samples, attention: str):
    score_labelled_positions_only()
    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=attention)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    collator = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=True)

    packed = collator(samples)
    assert packed["input_ids"].shape[0] == 1  # one row, no padding
    assert packed["input_ids"].shape[1] == sum(len(s["input_ids"]) for s in samples)
    assert int((packed["position_ids"][0] == 0).sum()) == len(samples)
    packed_sum, packed_count, packed_grad = _loss_and_grad(model, packed)

    single_sum, single_count, single_grad = 0.0, 0, torch.zeros_like(packed_grad)
    for sample in samples:
        total, count, grad = _loss_and_grad(model, collator([sample]))
        single_sum, single_count, single_grad = (
            single_sum + total,
            single_count + count,
            single_grad + grad,
        )

    assert packed_count == single_count
    assert packed_sum == pytest.approx(single_sum, rel=1e-5)
    torch.testing.assert_close(packed_grad, single_grad, rtol=1e-4, atol=1e-6)


def test_attention_across_documents_would_change_the_loss(tiny_model: Path, samples):
    """The check above can fail: one causal sequence over all samples gives another loss."""
    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation="sdpa")
    ids = torch.tensor([[t for s in samples for t in s["input_ids"]]])
    labels = torch.tensor([[t for s in samples for t in s["labels"]]])
    leaky = model(input_ids=ids, labels=labels, use_cache=False).loss.item()
    collator = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=True)
    separate = model(**collator(samples), use_cache=False).loss.item()
    assert abs(leaky - separate) > 1e-4


def test_bf16_packed_batch_on_cpu_stays_close_to_samples_one_by_one(tiny_model: Path, samples):
    """Under bf16 autocast, sdpa_varlen computes CPU attention in fp32 (faster there)."""
    score_labelled_positions_only()
    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation="sdpa_varlen")
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    collator = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        packed_sum, packed_count, packed_grad = _loss_and_grad(model, collator(samples))
        singles = [_loss_and_grad(model, collator([s])) for s in samples]
    assert packed_count == sum(count for _, count, _ in singles)
    assert packed_sum == pytest.approx(sum(total for total, _, _ in singles), rel=1e-2)
    torch.testing.assert_close(
        packed_grad, sum(grad for _, _, grad in singles), rtol=5e-2, atol=1e-4
    )
