"""Loss on assistant tokens only: the labels select exactly the answers and their end-of-turn."""

from __future__ import annotations

from pathlib import Path

import chat_format
import pytest
from sft_tokenize import (
    IGNORE_INDEX,
    SampleTooLongError,
    TokenizedSample,
    fit_length,
    tokenize_conversation,
)
from transformers import AutoTokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):
    return AutoTokenizer.from_pretrained(tiny_model)


def _labelled_text(tokenizer, sample: TokenizedSample) -> str:
    return tokenizer.decode([t for t, label in zip(sample.input_ids, sample.labels, strict=True)
                             if label != IGNORE_INDEX])  # fmt: skip


def test_only_the_sql_answer_and_its_end_of_turn_are_labelled(tokenizer):
    messages = chat_format.sql_messages(
        "How many ships are there?", "CREATE TABLE ships (name TEXT)", "SELECT COUNT(*) FROM ships"
    )
    sample = tokenize_conversation(tokenizer, messages)
    assert _labelled_text(tokenizer, sample) == "SELECT COUNT(*) FROM ships<|im_end|>"
    # The ids are exactly the rendered conversation's, so training sees what serving renders.
    rendered = chat_format.render_conversation(tokenizer, messages)
    assert tokenizer.decode(sample.input_ids) == rendered
    # Labelled tokens are the last ones but one (the newline after <|im_end|> is nobody's).
    labelled = [i for i, label in enumerate(sample.labels) if label != IGNORE_INDEX]
    assert labelled == list(range(labelled[0], len(sample.input_ids) - 1))


def test_every_assistant_turn_of_a_multi_turn_chat_is_labelled(tokenizer):
    messages = [
        {"role": "user", "content": "Say one."},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "Say two."},
        {"role": "assistant", "content": "two"},
    ]
    sample = tokenize_conversation(tokenizer, messages)
    assert _labelled_text(tokenizer, sample) == "one<|im_end|>two<|im_end|>"


def test_without_assistant_only_loss_every_token_is_labelled(tokenizer):
    messages = chat_format.sql_messages("q?", "CREATE TABLE t (a TEXT)", "SELECT a FROM t")
    sample = tokenize_conversation(tokenizer, messages, assistant_only_loss=False)
    assert sample.labels == sample.input_ids


def test_a_long_sample_fails_naming_where_unless_truncation_is_on():
    sample = TokenizedSample(list(range(10)), [IGNORE_INDEX] * 6 + [6, 7, 8, 9])
    with pytest.raises(SampleTooLongError, match=r"train\.jsonl:7: sample has 10 tokens.*=8"):
        fit_length(sample, 8, truncate=False, where="train.jsonl:7")
    cut = fit_length(sample, 8, truncate=True, where="x")
    assert cut.input_ids == list(range(8)) and cut.labels[-2:] == [6, 7]
    # Truncation that leaves nothing to learn drops the sample instead.
    assert fit_length(sample, 5, truncate=True, where="x") is None
    assert fit_length(sample, 10, truncate=False, where="x") is sample
