"""A prepared channel (JSONL of ``{"messages", "metadata"}``) as a tokenized training dataset.

Every line is checked again with ``chat_format.normalise_record`` (a channel may have been
written by hand), so a bad line fails naming its file and line, and the source file and line
that preparation read it from (``metadata.source``), which is the line a person can fix.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chat_format
import container_env
from config_values import ConfigError
from datasets import Dataset
from sft_tokenize import IGNORE_INDEX, fit_length, tokenize_conversation
from train_config import DataArgs

log = logging.getLogger(__name__)


@dataclass
class DatasetSummary:
    """What went into a dataset: the counts a person wants in the log and in the metrics."""

    samples: int
    tokens: int
    loss_tokens: int
    truncated: int
    dropped_no_target: int


def read_conversations(path: Path, limit: int | None = None) -> list[tuple[str, list[dict]]]:
    """``[(where, messages), ...]`` from a JSONL file; ``where`` is ``file:line``, followed by
    ``(from <source file:line>)`` for a prepared record.

    Raises:
        ConfigError: a line that is not JSON or not a usable record, or an empty file.
    """
    conversations = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as error:
                raise ConfigError(f"{where}: not valid JSON ({error.msg})") from None
            where += _source_of(raw)
            try:
                record = chat_format.normalise_record(raw)
            except chat_format.RecordError as error:
                raise ConfigError(f"{where}: {error}") from None
            conversations.append((where, record["messages"]))
            if limit is not None and len(conversations) >= limit:
                break
    if not conversations:
        raise ConfigError(f"{path} is empty: no records to train on")
    return conversations


def _source_of(raw: Any) -> str:
    """`` (from data/train.jsonl:17)`` for a record that preparation read there, else empty."""
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    source = metadata.get("source") if isinstance(metadata, dict) else None
    return f" (from {source})" if isinstance(source, str) and source else ""


def build_dataset(
    tokenizer: Any,
    path: Path,
    *,
    max_length: int,
    truncate: bool,
    assistant_only_loss: bool,
    limit: int | None = None,
) -> tuple[Dataset, DatasetSummary]:
    """Tokenizes ``path`` into a ``Dataset`` with ``input_ids`` and ``labels`` columns."""
    input_ids, labels = [], []
    truncated = dropped = 0
    for where, messages in read_conversations(path, limit):
        sample = tokenize_conversation(tokenizer, messages, assistant_only_loss=assistant_only_loss)
        fitted = fit_length(sample, max_length, truncate=truncate, where=where)
        if fitted is None:
            dropped += 1
            continue
        truncated += fitted is not sample
        input_ids.append(fitted.input_ids)
        labels.append(fitted.labels)
    if not input_ids:
        raise ConfigError(f"{path}: no sample keeps an assistant token after truncation")
    summary = DatasetSummary(
        samples=len(input_ids),
        tokens=sum(map(len, input_ids)),
        loss_tokens=sum(sum(label != IGNORE_INDEX for label in row) for row in labels),
        truncated=truncated,
        dropped_no_target=dropped,
    )
    return Dataset.from_dict({"input_ids": input_ids, "labels": labels}), summary


def load_channels(data: DataArgs, tokenizer: Any) -> tuple[Dataset, Dataset | None, dict]:
    """The train and (optional) validation datasets, and what went into each."""
    options = {
        "max_length": data.max_seq_length,
        "truncate": data.truncate,
        "assistant_only_loss": data.assistant_only_loss,
    }
    path = container_env.data_file(data.train_dir, container_env.TRAIN_FILE, "train")
    train, summary = build_dataset(tokenizer, path, limit=data.max_train_samples, **options)
    stats = {"train": vars(summary)}
    validation = None
    if data.validation_dir:
        name = container_env.VALIDATION_FILE
        path = container_env.data_file(data.validation_dir, name, "validation")
        validation, summary = build_dataset(tokenizer, path, limit=data.max_eval_samples, **options)
        stats["validation"] = vars(summary)
    for split, counts in stats.items():
        log.info("%s data: %s", split, counts)
    return train, validation, stats
