"""Writes the evaluation's outputs: report.json, predictions.jsonl and report.html.

The HTML page is self-contained (plots are PNGs embedded as base64), so it can be opened
straight from S3 or a laptop: a metric summary against the baseline, latency histograms,
and the failed samples with reference and predictions side by side.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display in a processing job
import matplotlib.pyplot as plt
from eval_metrics import GATE_METRICS

from contracts.workflow import REPORT_FILE, REPORT_PAGE

MAX_FAILED_SHOWN = 25


def merge_predictions(
    samples: list[dict[str, Any]],
    results: list[dict[str, Any]],
    baseline_results: list[dict[str, Any]] | None,
    champion_results: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One row per sample for predictions.jsonl: the sample, its answer, scores, baseline and
    champion."""
    rows = []
    for i, (sample, result) in enumerate(zip(samples, results, strict=True)):
        row = {k: sample[k] for k in ("index", "line", "question", "reference")}
        row.update(task=sample["metadata"].get("task", "chat"), **result)
        if baseline_results is not None:
            row["baseline"] = baseline_results[i]
        if champion_results is not None:
            row["champion"] = champion_results[i]
        rows.append(row)
    return rows


def summary_line(report: dict[str, Any], out: Path) -> str:
    """The one-line JSON summary printed last: the gate and the headline metrics."""
    metrics = report["metrics"]
    keys = (*GATE_METRICS, "latency_p50_s", "latency_p95_s", "output_tokens_per_second")
    summary = {"gate": report["gate"], "output_dir": str(out), **{k: metrics[k] for k in keys}}
    summary.update(samples=metrics["samples"], errors=metrics["errors"])
    return json.dumps(summary)


def write_json(report: dict[str, Any], predictions: list[dict[str, Any]], out: Path) -> None:
    """report.json (indented, stable keys) and predictions.jsonl (one sample a line)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as f:
        for row in predictions:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _columns(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, metrics) of every model evaluated: the new one, the champion, the base model."""
    columns = [(f"new ({report['endpoint']})", report["metrics"])]
    for key, word in (("champion", "champion"), ("baseline", "baseline")):
        block = report.get(key) or {}
        if block.get("metrics"):
            source = block.get("source")
            columns.append((f"{word} ({source})" if source else word, block["metrics"]))
    return columns


def _metric_plot(columns: list[tuple[str, dict[str, Any]]]) -> str:
    metrics = columns[0][1]
    names = [m for m in GATE_METRICS if metrics.get(m) is not None]
    figure, ax = plt.subplots(figsize=(6, 3))
    width = 0.8 / len(columns)
    for i, (label, values) in enumerate(columns):
        offset = (i - (len(columns) - 1) / 2) * width
        heights = [values.get(m) or 0.0 for m in names]
        ax.bar([x + offset for x in range(len(names))], heights, width, label=label)
    ax.set_xticks(list(range(len(names))), names)
    ax.set_ylim(0, 1)
    ax.set_title("Quality metrics")
    ax.legend()
    return _png(figure)


def _latency_plot(predictions: list[dict[str, Any]], labels: list[str]) -> str:
    figure, ax = plt.subplots(figsize=(6, 3))
    latencies = [p["latency_s"] for p in predictions if p["error"] is None]
    ax.hist(latencies, bins=20, alpha=0.7, label=labels[0])
    compared = [key for key in ("champion", "baseline") if any(p.get(key) for p in predictions)]
    for key, label in zip(compared, labels[1:], strict=False):
        other = [p[key]["latency_s"] for p in predictions if p.get(key) and p[key]["error"] is None]
        if other:
            ax.hist(other, bins=20, alpha=0.5, label=label)
    ax.set_xlabel("seconds per request")
    ax.set_ylabel("requests")
    ax.set_title("Latency")
    ax.legend()
    return _png(figure)


def _cell(value: Any) -> str:
    if value is None:
        return "<td>—</td>"
    if isinstance(value, float):
        return f"<td>{value:.4f}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _metrics_table(columns: list[tuple[str, dict[str, Any]]]) -> str:
    """One row per metric, one column per model; "change" is the new model's gain over the
    first model it is compared with (the champion where there is one)."""
    names = "".join(f"<th>{html.escape(label)}</th>" for label, _ in columns)
    change = "<th>change</th>" if len(columns) > 1 else ""
    rows = [f"<tr><th>metric</th>{names}{change}</tr>"]
    for name, value in columns[0][1].items():
        others = [metrics.get(name) for _, metrics in columns[1:]]
        cells = "".join(_cell(v) for v in (value, *others))
        if others:
            first = others[0]
            both = isinstance(value, int | float) and isinstance(first, int | float)
            cells += _cell(value - first if both else None)
        rows.append(f"<tr><td>{name}</td>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _champion_line(gate: dict[str, Any]) -> str:
    """What the gate said of the champion, or "" where the run compared with none."""
    if "note" in gate:
        return f"<p>{html.escape(gate['note'])}</p>"
    champion = gate.get("champion")
    if not champion:
        return ""
    if champion.get("bar") is None:
        return f"<p>Champion {html.escape(str(champion['source']))}: not measured.</p>"
    verdict = "beaten" if champion["beaten"] else "NOT beaten"
    return (
        f"<p>Champion {html.escape(str(champion['source']))}: {gate['metric']} = "
        f"{champion['value']:.4f}; the new model needed {champion['bar']:.4f} "
        f"(min_improvement {champion['min_improvement']}): {verdict}.</p>"
    )


def _failed_table(predictions: list[dict[str, Any]]) -> str:
    failed = [p for p in predictions if not p["exact_match"]][:MAX_FAILED_SHOWN]
    head = (
        "<tr><th>#</th><th>question</th><th>reference</th><th>prediction</th><th>champion</th>"
        "<th>baseline</th></tr>"
    )
    rows = [head]
    for p in failed:
        prediction = p["prediction"] if p["error"] is None else f"[error] {p['error']}"
        champion = (p.get("champion") or {}).get("prediction")
        baseline = (p.get("baseline") or {}).get("prediction")
        cells = [p["index"], p["question"], p["reference"], prediction, champion, baseline]
        rows.append(
            "<tr>"
            + "".join(
                f"<td><pre>{html.escape(str(c))}</pre></td>" if c is not None else "<td>—</td>"
                for c in cells
            )
            + "</tr>"
        )
    return "<table class='samples'>" + "".join(rows) + "</table>"


def write_html(report: dict[str, Any], predictions: list[dict[str, Any]], out: Path) -> None:
    """report.html: summary, plots and failed samples, readable without anything else."""
    source = (report.get("baseline") or {}).get("source")
    columns = _columns(report)
    labels = [label for label, _ in columns]
    g = report["gate"]
    verdict = "PASSED" if g["passed"] else "FAILED"
    value = f"{g['value']:.4f}" if isinstance(g["value"], float) else g["value"]
    failed_count = sum(not p["exact_match"] for p in predictions)
    title = html.escape(report["endpoint"])
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Evaluation of {title}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
pre{{white-space:pre-wrap;margin:0;max-width:40em}} .PASSED{{color:#070}} .FAILED{{color:#a00}}
</style></head><body>
<h1>Evaluation of {title}</h1>
<p>{report["samples"]} samples from {html.escape(report["settings"]["test_file"])};
baseline: {html.escape(source or "none")}; started {report["started_at"]}.</p>
<h2 class="{verdict}">Gate {verdict}: {g["metric"]} = {value} (threshold {g["threshold"]})</h2>
{_champion_line(g)}
<h2>Metrics</h2>{_metrics_table(columns)}
<img alt="metric summary" src="data:image/png;base64,{_metric_plot(columns)}">
<h2>Latency</h2>
<img alt="latency histogram" src="data:image/png;base64,{_latency_plot(predictions, labels)}">
<h2>Samples not matched exactly ({failed_count}, first {MAX_FAILED_SHOWN} shown)</h2>
{_failed_table(predictions)}
</body></html>
"""
    (out / REPORT_PAGE).write_text(page, encoding="utf-8")
