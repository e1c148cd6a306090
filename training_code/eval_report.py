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

MAX_FAILED_SHOWN = 25


def merge_predictions(
    samples: list[dict[str, Any]],
    results: list[dict[str, Any]],
    baseline_results: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """One row per sample for predictions.jsonl: the sample, its answer, scores, baseline."""
    rows = []
    for i, (sample, result) in enumerate(zip(samples, results, strict=True)):
        row = {k: sample[k] for k in ("index", "line", "question", "reference")}
        row.update(task=sample["metadata"].get("task", "chat"), **result)
        if baseline_results is not None:
            row["baseline"] = baseline_results[i]
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
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as f:
        for row in predictions:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _metric_plot(metrics: dict, baseline: dict | None, labels: tuple[str, str]) -> str:
    names = [m for m in GATE_METRICS if metrics.get(m) is not None]
    figure, ax = plt.subplots(figsize=(6, 3))
    width = 0.4 if baseline else 0.6
    xs = range(len(names))
    ax.bar(
        [x - (width / 2 if baseline else 0) for x in xs],
        [metrics[m] for m in names],
        width,
        label=labels[0],
    )
    if baseline:
        values = [baseline.get(m) or 0.0 for m in names]
        ax.bar([x + width / 2 for x in xs], values, width, label=labels[1])
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 1)
    ax.set_title("Quality metrics")
    ax.legend()
    return _png(figure)


def _latency_plot(predictions: list[dict[str, Any]], labels: tuple[str, str]) -> str:
    figure, ax = plt.subplots(figsize=(6, 3))
    latencies = [p["latency_s"] for p in predictions if p["error"] is None]
    ax.hist(latencies, bins=20, alpha=0.7, label=labels[0])
    baseline = [
        p["baseline"]["latency_s"]
        for p in predictions
        if p.get("baseline") and p["baseline"]["error"] is None
    ]
    if baseline:
        ax.hist(baseline, bins=20, alpha=0.5, label=labels[1])
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


def _metrics_table(metrics: dict, baseline: dict | None, labels: tuple[str, str]) -> str:
    names = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    rows = [f"<tr><th>metric</th>{names}<th>change</th></tr>"]
    for name, value in metrics.items():
        base = baseline.get(name) if baseline else None
        both = isinstance(value, int | float) and isinstance(base, int | float)
        change = value - base if both else None
        rows.append(f"<tr><td>{name}</td>{_cell(value)}{_cell(base)}{_cell(change)}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _failed_table(predictions: list[dict[str, Any]]) -> str:
    failed = [p for p in predictions if not p["exact_match"]][:MAX_FAILED_SHOWN]
    head = (
        "<tr><th>#</th><th>question</th><th>reference</th><th>prediction</th><th>baseline</th></tr>"
    )
    rows = [head]
    for p in failed:
        prediction = p["prediction"] if p["error"] is None else f"[error] {p['error']}"
        baseline = (p.get("baseline") or {}).get("prediction")
        cells = [p["index"], p["question"], p["reference"], prediction, baseline]
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
    metrics = report["metrics"]
    source = (report.get("baseline") or {}).get("source")
    baseline = (report.get("baseline") or {}).get("metrics")
    labels = (report["endpoint"], f"baseline ({source})" if source else "baseline")
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
<h2>Metrics</h2>{_metrics_table(metrics, baseline, labels)}
<img alt="metric summary" src="data:image/png;base64,{_metric_plot(metrics, baseline, labels)}">
<h2>Latency</h2>
<img alt="latency histogram" src="data:image/png;base64,{_latency_plot(predictions, labels)}">
<h2>Samples not matched exactly ({failed_count}, first {MAX_FAILED_SHOWN} shown)</h2>
{_failed_table(predictions)}
</body></html>
"""
    (out / "report.html").write_text(page, encoding="utf-8")
