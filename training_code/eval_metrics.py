"""Per-sample scores and their summary: exact match, ROUGE-L, SQL checks, latency, speed."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from rouge_score import rouge_scorer
from sql_metrics import check_sql

# The metrics the quality gate can be set on; report["metrics"] has each of them.
GATE_METRICS = ("exact_match", "rouge_l", "sql_valid", "execution_match")

# Kana and CJK ideographs (with their extensions and compatibility forms): these scripts
# put no spaces between words, so each character is a token of its own.
_CJK_RANGES = (
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)


def _is_cjk(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in _CJK_RANGES)


class UnicodeTokenizer:
    """ROUGE tokens in any script, for ``RougeScorer(tokenizer=...)``.

    rouge-score's own tokenizer keeps only ``[a-z0-9]`` runs, so an identical Cyrillic or
    Chinese answer scored 0. Here a token is a lower-cased run of letters, digits and
    combining marks (a Devanagari vowel sign stays in its word), and each CJK character is
    one token. Underscores and punctuation separate tokens, as before, so on ASCII text
    the tokens, and the scores, are rouge-score's own.
    """

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text``, NFKC-normalised (full-width ``Ａ`` is ``a``)."""
        tokens: list[str] = []
        word: list[str] = []
        for char in unicodedata.normalize("NFKC", text).lower():
            cjk = _is_cjk(char)
            if not cjk and unicodedata.category(char)[0] in "LNM":
                word.append(char)
                continue
            if word:
                tokens.append("".join(word))
                word = []
            if cjk:
                tokens.append(char)
        if word:
            tokens.append("".join(word))
        return tokens


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], tokenizer=UnicodeTokenizer())


def normalise(text: str) -> str:
    """Case, runs of whitespace and a trailing semicolon do not count against an answer."""
    return " ".join(text.split()).rstrip(";").strip().lower()


def score_sample(prediction: str | None, reference: str, metadata: dict[str, Any]) -> dict:
    """Scores one answer; a failed request (``prediction is None``) scores zero everywhere."""
    text = prediction or ""
    scores: dict[str, Any] = {
        "exact_match": prediction is not None and normalise(text) == normalise(reference),
        "rouge_l": _ROUGE.score(reference, text)["rougeL"].fmeasure if text else 0.0,
        "sql_valid": None,
        "execution_match": None,
    }
    schema = metadata.get("schema")
    if metadata.get("task") == "sql" and isinstance(schema, str):
        outcome = check_sql(text, reference, schema)
        scores["sql_valid"] = outcome.valid
        scores["execution_match"] = outcome.execution_match
        scores["sql_error"] = outcome.error
    return scores


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: list[float | bool | None]) -> float | None:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else None


def summarise(results: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """The metrics block of the report, from scored results of one endpoint.

    Exact match and ROUGE-L average over every sample (failed requests count as wrong); the
    SQL metrics over the samples where they apply; latency over the requests that succeeded.
    """
    answered = [r for r in results if r["error"] is None]
    latencies = [r["latency_s"] for r in answered]
    tokens = sum(r["completion_tokens"] for r in answered)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        "exact_match": _mean([r["exact_match"] for r in results]),
        "rouge_l": _mean([r["rouge_l"] for r in results]),
        "sql_valid": _mean([r["sql_valid"] for r in results]),
        "execution_match": _mean([r["execution_match"] for r in results]),
        "latency_p50_s": None if p50 is None else round(p50, 4),
        "latency_p95_s": None if p95 is None else round(p95, 4),
        "output_tokens_per_second": round(tokens / wall_s, 2) if wall_s > 0 else None,
        "samples": len(results),
        "errors": len(results) - len(answered),
        "sql_samples": sum(r["sql_valid"] is not None for r in results),
        "execution_samples": sum(r["execution_match"] is not None for r in results),
        "completion_tokens": tokens,
        "wall_s": round(wall_s, 3),
    }


def gate(metrics: dict[str, Any], metric: str, threshold: float) -> dict[str, Any]:
    """The quality gate the state machine's Choice state reads (``report["gate"]``)."""
    value = metrics.get(metric)
    gate_result = {
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "passed": value is not None and value >= threshold,
    }
    if value is None:
        gate_result["reason"] = f"{metric} could not be measured on these samples"
    return gate_result
