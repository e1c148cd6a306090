"""De-duplication, the seeded train/validation/test split, and length percentiles."""

from __future__ import annotations

import json
import math
import random
from typing import Any


def conversation_key(messages: list[dict[str, str]]) -> str:
    """Two records are duplicates when their normalised conversations are identical."""
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def deduplicate(
    records: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Keeps the first of each conversation.

    Returns:
        The kept records, and one ``{"where", "repeats"}`` per dropped record: its source
        (``metadata.source``, ``file:line``) and that of the kept record it repeats.
    """
    first: dict[str, dict[str, Any]] = {}
    kept, dropped = [], []
    for record in records:
        key = conversation_key(record["messages"])
        if key in first:
            dropped.append({"where": _source(record), "repeats": _source(first[key])})
        else:
            first[key] = record
            kept.append(record)
    return kept, dropped


def _source(record: dict[str, Any]) -> str:
    return str(record.get("metadata", {}).get("source", "?"))


def split_sizes(
    total: int, validation_fraction: float, test_fraction: float, max_test: int | None
) -> tuple[int, int, int]:
    """(train, validation, test) sizes; a non-zero fraction gets at least one record."""
    if max_test is not None and max_test < 0:
        raise ValueError(f"max_test must be 0 or more, got {max_test}")

    def size(fraction: float) -> int:
        return 0 if fraction <= 0 else max(1, round(total * fraction))

    test = size(test_fraction)
    if max_test is not None:
        test = min(test, max_test)
    validation = size(validation_fraction)
    train = total - validation - test
    if train < 1:
        raise ValueError(
            f"{total} record(s) cannot be split into train/validation/test with fractions "
            f"{validation_fraction}/{test_fraction}: at least one must be left to train on"
        )
    return train, validation, test


def split(
    records: list[dict[str, Any]],
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    max_test: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Shuffles with ``seed`` and cuts into train/validation/test.

    Records beyond ``max_test`` that would have been test go to train, not to waste.
    """
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    _, validation, test = split_sizes(len(records), validation_fraction, test_fraction, max_test)
    return {
        "train": shuffled[test + validation :],
        "validation": shuffled[test : test + validation],
        "test": shuffled[:test],
    }


def percentiles(values: list[int]) -> dict[str, float]:
    """min/mean/p50/p90/p95/p99/max of ``values`` (nearest-rank percentiles)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> int:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    return {
        "min": ordered[0],
        "mean": round(sum(ordered) / len(ordered), 2),
        "p50": rank(50),
        "p90": rank(90),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1],
    }
