"""A run's report.json as text: the new model, the champion and the base model side by side.

``python -m cli report`` and the demo print it; the columns are the models the run evaluated
(the champion and the base model only where the run compared with them).
"""

from __future__ import annotations

from typing import Any

SUMMARY_METRICS = (
    "exact_match",
    "execution_match",
    "sql_valid",
    "rouge_l",
    "latency_p50_s",
    "latency_p95_s",
    "output_tokens_per_second",
)
WIDTH = 12


def columns(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(heading, metrics) of each model the report holds: base model, champion, new model."""
    found = []
    for key, heading in (("baseline", "base model"), ("champion", "champion")):
        metrics = (report.get(key) or {}).get("metrics")
        if metrics:
            found.append((heading, metrics))
    found.append(("new model", report.get("metrics") or {}))
    return found


def metrics_table(report: dict[str, Any]) -> list[str]:
    """One line per metric the new model has, one column per model evaluated."""
    models = columns(report)
    lines = [f"  {'metric':<26}" + "".join(f"{heading:>{WIDTH}}" for heading, _ in models)]
    for name in SUMMARY_METRICS:
        if not isinstance(models[-1][1].get(name), int | float):
            continue
        cells = []
        for _, metrics in models:
            value = metrics.get(name)
            cells.append(
                f"{value:>{WIDTH}.3f}" if isinstance(value, int | float) else "-".rjust(WIDTH)
            )
        lines.append(f"  {name:<26}" + "".join(cells))
    return lines


def gate_lines(gate: dict[str, Any]) -> list[str]:
    """The gate's verdict: the threshold, and the champion's bar where there was one."""
    if not gate:
        return []
    value = gate.get("value")
    shown = f"{value:.3f}" if isinstance(value, int | float) else str(value)
    verdict = "passed" if gate.get("passed") else "failed"
    threshold = gate.get("threshold")
    lines = [f"Quality gate: {gate.get('metric')} {shown} vs threshold {threshold}: {verdict}"]
    champion = gate.get("champion") or {}
    if gate.get("note"):
        lines.append(f"Champion: {gate['note']}")
    elif isinstance(champion.get("bar"), int | float):
        beaten = "beaten" if champion.get("beaten") else "NOT beaten"
        lines.append(
            f"Champion ({champion.get('source')}): {champion.get('value'):.3f}, needed "
            f"{champion['bar']:.3f} (min_improvement {champion.get('min_improvement')}): {beaten}"
        )
    elif champion:
        lines.append(f"Champion ({champion.get('source')}): not measured")
    return lines


def report_text(report: dict[str, Any]) -> str:
    """The metrics table and the gate, as the CLI prints them."""
    lines = [f"Evaluation on {report.get('samples', '?')} held-out samples:"]
    lines += metrics_table(report)
    lines += gate_lines(report.get("gate") or {})
    return "\n".join(lines)
