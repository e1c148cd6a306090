"""Chat records -> token ids and labels, with the loss on assistant tokens only.

The text is rendered by ``chat_format`` (the same template serving uses) and tokenized once
with character offsets. Each assistant turn's characters are found by rendering the
conversation up to that turn with and without the generation prompt; tokens starting inside
that span (through the end-of-turn token, which the model must learn to emit) keep their id as
label, all others get -100. This works for any prefix-preserving chat template, including
those without ``{% generation %}`` markers (SmolLM2's, Llama 3's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import chat_format

IGNORE_INDEX = -100


class SampleTooLongError(ValueError):
    """A sample longer than the maximum sequence length while truncation is off."""


@dataclass(frozen=True)
class TokenizedSample:
    """One conversation as model input."""

    input_ids: list[int]
    labels: list[int]


def _assistant_spans(tokenizer: Any, messages: list[dict[str, str]], text: str) -> list[range]:
    spans = []
    eos = tokenizer.eos_token or ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or i == 0:
            continue  # an opening assistant message has no prompt: it is context
        prompt = chat_format.render_prompt(tokenizer, messages[:i])
        if not text.startswith(prompt):
            raise ValueError(
                "the chat template is not prefix-preserving: the prompt for turn "
                f"{i} is not a prefix of the conversation, so assistant tokens cannot be located"
            )
        start = len(prompt)
        end = len(chat_format.render_conversation(tokenizer, messages[: i + 1]))
        # Stop after the end-of-turn token: what follows it (a newline) belongs to no one.
        stop = text.find(eos, start, end) if eos else -1
        spans.append(range(start, stop + len(eos) if stop >= 0 else end))
    return spans


def tokenize_conversation(
    tokenizer: Any, messages: list[dict[str, str]], *, assistant_only_loss: bool = True
) -> TokenizedSample:
    """Token ids and labels for a whole conversation."""
    text = chat_format.render_conversation(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    if not assistant_only_loss:
        return TokenizedSample(ids, list(ids))
    spans = _assistant_spans(tokenizer, messages, text)
    labels = [
        token if any(start in span for span in spans) else IGNORE_INDEX
        for token, (start, _end) in zip(ids, encoded["offset_mapping"], strict=True)
    ]
    return TokenizedSample(ids, labels)


def fit_length(
    sample: TokenizedSample, max_length: int, *, truncate: bool, where: str
) -> TokenizedSample | None:
    """Applies the length policy: keep, cut to ``max_length``, or fail naming the sample.

    Returns None when truncation leaves no assistant token to learn from.
    """
    if len(sample.input_ids) <= max_length:
        return sample
    if not truncate:
        raise SampleTooLongError(
            f"{where}: sample has {len(sample.input_ids)} tokens, more than max_seq_length="
            f"{max_length}; raise max_seq_length, pass --truncate true, or drop the sample"
        )
    cut = TokenizedSample(sample.input_ids[:max_length], sample.labels[:max_length])
    return cut if any(label != IGNORE_INDEX for label in cut.labels) else None
