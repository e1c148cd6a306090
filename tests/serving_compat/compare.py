"""The comparisons of what training's and serving's transformers read from one export."""

from __future__ import annotations

import pytest
import torch

from tests.serving_compat.conftest import Reading


def part(reading: Reading, kind: str, name: str) -> dict:
    """One part (tokenizer, config, model) of what ``reading`` read, failing on its error."""
    read = reading.results[kind][name]
    where = f"{kind} {name}, read by transformers {reading.versions['transformers']}"
    assert "error" not in read, f"{where}: {read.get('error')}"
    return read


def same_tokenizer(training: Reading, serving: Reading, kind: str) -> None:
    """Special tokens, chat template, the template's renderings and their token ids agree."""
    trained, served = part(training, kind, "tokenizer"), part(serving, kind, "tokenizer")
    for key in ("special_tokens", "special_token_ids", "all_special_tokens", "length"):
        assert served[key] == trained[key], key
    assert served["chat_template"] == trained["chat_template"]
    assert "<|im_start|>" in trained["chat_template"]
    for chat_served, chat_trained in zip(served["chats"], trained["chats"], strict=True):
        assert chat_served == chat_trained
    assert served["plain"] == trained["plain"]
    assert served["plain_without_special"] == trained["plain_without_special"]


def same_config(training: Reading, serving: Reading, kind: str, rope: dict, dtype: str) -> None:
    """RoPE (as the base had it), dtype, vocabulary and special token ids agree."""
    trained, served = part(training, kind, "config"), part(serving, kind, "config")
    assert trained["rope"] == rope
    assert served["rope"] == trained["rope"]
    assert served["dtype"] == trained["dtype"] == dtype
    for key in ("vocab_size", "token_ids", "generation_token_ids", "max_position_embeddings"):
        assert served[key] == trained[key], key
    assert served["vocab_size"] == part(training, kind, "tokenizer")["length"]


def same_logits(training: Reading, serving: Reading, kind: str, dtype: str) -> None:
    """The loaded model's precision, RoPE frequencies and logits agree."""
    trained, served = part(training, kind, "model"), part(serving, kind, "model")
    assert served["loaded_dtype"] == trained["loaded_dtype"] == dtype
    assert served["parameters"] == trained["parameters"]
    torch.testing.assert_close(torch.tensor(served["inv_freq"]), torch.tensor(trained["inv_freq"]))
    assert served["attention_scaling"] == pytest.approx(trained["attention_scaling"])
    torch.testing.assert_close(serving.logits(kind), training.logits(kind), rtol=1e-4, atol=1e-4)
