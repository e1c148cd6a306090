"""Evaluates a model endpoint on the held-out test split (runs as a SageMaker Processing job).

    python evaluation.py --test-dir DIR --output-dir DIR --endpoint-name NAME
        [--baseline-endpoint-name NAME | --baseline-report PATH]
        [--champion-endpoint-name NAME [--min-improvement 0.0] | --no-champion]
        [--metric exact_match] [--threshold 0.5] [--max-samples N] [--concurrency 8]
        [--max-tokens 128] [--region R] [--endpoint-url URL] [--request-timeout 120]

Reads DIR/test.jsonl (records ``{"messages": [...], "metadata": {"task", "schema"}}`` as
data preparation writes them), asks the endpoint for each answer with boto3
``sagemaker-runtime`` (greedy, bounded concurrency, retries), scores them and writes
``report.json``, ``predictions.jsonl`` and ``report.html`` to the output directory. The gate
is ``report["gate"] = {"metric", "value", "threshold", "passed"}``, plus, where the run compares
with a champion, ``"champion": {"source", "value", "min_improvement", "bar", "beaten"}``
(``champion_gate.py``; ``--no-champion``: the run looked for one and there is none yet). The
last stdout line is a JSON summary. Exit codes: 0 whether the gate passed or not (the state
machine decides from the report), 1 when no request got an answer, 2 when the input or
arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import chat_format
from champion_gate import champion_gate
from eval_client import EndpointCaller, ask_all, make_client
from eval_metrics import GATE_METRICS, gate, score_sample, summarise
from eval_report import merge_predictions, summary_line, write_html, write_json

from contracts.workflow import DEFAULT_EVAL_MAX_TOKENS


class InputError(Exception):
    """Bad arguments or test data; the message says which file, line and field."""


def load_samples(test_dir: Path, max_samples: int | None) -> tuple[Path, list[dict[str, Any]]]:
    """The test records as prompt/reference/metadata, in file order."""
    path = test_dir / "test.jsonl"
    if not path.is_file():
        found = sorted(p.name for p in test_dir.glob("*.jsonl")) if test_dir.is_dir() else []
        raise InputError(f"{path} not found (jsonl files in {test_dir}: {found or 'none'})")
    samples = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                # Without its line break, so a line cut short reports the column after its end.
                record = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                # exc's own text repeats a line number, counted within this one line.
                raise InputError(
                    f"{path} line {number}, column {exc.pos + 1}: not valid JSON ({exc.msg})"
                ) from exc
            try:
                normalised = chat_format.normalise_record(record)
            except chat_format.RecordError as exc:
                raise InputError(f"{path} line {number}: {exc}") from exc
            prompt, reference = chat_format.prompt_and_reference(normalised["messages"])
            # The record's own metadata (task, schema) wins over what normalising infers;
            # normalising has checked that it is an object.
            metadata = {**normalised["metadata"], **(record.get("metadata") or {})}
            if not isinstance(metadata["task"], str):
                got = type(metadata["task"]).__name__
                raise InputError(
                    f"{path} line {number}: field 'metadata.task': must be a string, got {got}"
                )
            question = next(m["content"] for m in reversed(prompt) if m["role"] == "user")
            samples.append(
                {
                    "index": len(samples),
                    "line": number,
                    "prompt": prompt,
                    "reference": reference,
                    "metadata": metadata,
                    "question": question,
                }
            )
            if max_samples is not None and len(samples) >= max_samples:
                break
    if not samples:
        raise InputError(f"{path} has no records")
    return path, samples


def run_endpoint(args: argparse.Namespace, name: str, samples: list[dict]) -> tuple[list, dict]:
    """Asks ``name`` every prompt and scores the answers; returns (results, metrics)."""
    client = make_client(args.region, args.endpoint_url, args.request_timeout, args.concurrency)
    caller = EndpointCaller(client, name, args.max_tokens)
    step = max(1, len(samples) // 10)
    started = time.perf_counter()

    def progress(done: int, failed: int, total: int) -> None:
        if done % step == 0 or done == total:
            rate = done / max(time.perf_counter() - started, 1e-9)
            line = f"[{name}] {done}/{total} answered ({failed} failed, {rate:.2f} samples/s)"
            # One write with its newline: both endpoints' threads print, and print's separate
            # write of the line end would let their lines run together.
            print(line + "\n", end="", flush=True)

    answers, wall_s = ask_all(caller, [s["prompt"] for s in samples], args.concurrency, progress)
    results = []
    for sample, answer in zip(samples, answers, strict=True):
        scores = score_sample(answer.text, sample["reference"], sample["metadata"])
        results.append(
            {
                "prediction": answer.text,
                "error": answer.error,
                "latency_s": round(answer.latency_s, 4),
                "attempts": answer.attempts,
                "completion_tokens": answer.completion_tokens,
                **scores,
            }
        )
    return results, summarise(results, wall_s)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line the workflow calls (keep it stable; docs/evaluation.md)."""
    p = argparse.ArgumentParser(description="Evaluate a SageMaker endpoint on the test split.")
    p.add_argument("--test-dir", type=Path, required=True, help="directory with test.jsonl")
    p.add_argument("--output-dir", type=Path, required=True)
    p.add_argument("--endpoint-name", required=True)
    p.add_argument("--baseline-endpoint-name", help="base model endpoint, same samples")
    p.add_argument("--baseline-report", type=Path, help="an earlier report.json to compare")
    p.add_argument("--champion-endpoint-name", help="the champion's endpoint, same samples")
    p.add_argument(
        "--min-improvement",
        type=float,
        default=0.0,
        help="how much the gate metric must exceed the champion's (absolute)",
    )
    p.add_argument(
        "--no-champion", action="store_true", help="the run compares with a champion; none exists"
    )
    p.add_argument("--metric", default="exact_match", choices=GATE_METRICS)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--max-samples", type=int, default=None)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=DEFAULT_EVAL_MAX_TOKENS)
    p.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    p.add_argument("--endpoint-url", help="SageMaker runtime URL (default: AWS_ENDPOINT_URL)")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request")
    args = p.parse_args(argv)
    if args.baseline_endpoint_name and args.baseline_report:
        p.error("give --baseline-endpoint-name or --baseline-report, not both")
    if args.champion_endpoint_name and args.no_champion:
        p.error("give --champion-endpoint-name or --no-champion, not both")
    if not 0.0 <= args.min_improvement <= 1.0:
        p.error(f"--min-improvement must be in [0, 1], got {args.min_improvement}")
    for name in ("concurrency", "max_tokens", "max_samples"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    # Every gate metric is a share of samples (or a mean F1), so it lies in [0, 1]: a threshold
    # above 1 could never pass, one below 0 would pass anything.
    if not 0.0 <= args.threshold <= 1.0:
        p.error(f"--threshold must be in [0, 1] (every gate metric is), got {args.threshold}")
    return args


def _baseline_from_report(path: Path) -> dict[str, Any]:
    """The baseline block from an earlier report.json, checked before any request is sent."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"--baseline-report {path}: not a readable report.json ({exc})") from exc
    if not isinstance(report, dict):
        raise InputError(
            f"--baseline-report {path}: must be a report.json object, got {type(report).__name__}"
        )
    metrics = report.get("metrics")
    if not isinstance(metrics, dict):
        problem = (
            "is missing" if metrics is None else f"must be an object, got {type(metrics).__name__}"
        )
        raise InputError(f"--baseline-report {path}: field 'metrics': {problem}")
    for name in GATE_METRICS:  # the ones the report plots against the endpoint's
        value = metrics.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(
                f"--baseline-report {path}: field 'metrics.{name}': must be a number or null, "
                f"got {type(value).__name__}"
            )
    return {"source": str(path), "metrics": metrics}


def main(argv: list[str] | None = None) -> int:
    """Runs the evaluation; returns the exit code."""
    args = parse_args(argv)
    started = time.time()
    try:
        test_file, samples = load_samples(args.test_dir, args.max_samples)
        baseline = _baseline_from_report(args.baseline_report) if args.baseline_report else None
    except InputError as exc:
        print(f"evaluation input error: {exc}", file=sys.stderr)
        return 2
    print(f"evaluating {args.endpoint_name} on {len(samples)} samples from {test_file}", flush=True)
    # The endpoints are separate servers (instances on SageMaker): ask them at once, so the
    # evaluation takes as long as the slowest one and every endpoint is billed that long only.
    with ThreadPoolExecutor(max_workers=3) as pool:
        candidate = pool.submit(run_endpoint, args, args.endpoint_name, samples)
        base = champion_run = None
        if args.baseline_endpoint_name:
            base = pool.submit(run_endpoint, args, args.baseline_endpoint_name, samples)
        if args.champion_endpoint_name:
            champion_run = pool.submit(run_endpoint, args, args.champion_endpoint_name, samples)
        results, metrics = candidate.result()
        baseline_results = champion_results = None
        if base is not None:
            baseline_results, baseline_metrics = base.result()
            baseline = {"source": args.baseline_endpoint_name, "metrics": baseline_metrics}
        champion = None
        if champion_run is not None:
            champion_results, champion_metrics = champion_run.result()
            champion = {"source": args.champion_endpoint_name, "metrics": champion_metrics}

    predictions = merge_predictions(samples, results, baseline_results, champion_results)
    verdict = gate(metrics, args.metric, args.threshold)
    if champion is not None or args.no_champion:
        verdict = champion_gate(
            verdict,
            champion["metrics"] if champion else None,
            source=args.champion_endpoint_name,
            min_improvement=args.min_improvement,
        )
    report = {
        "endpoint": args.endpoint_name,
        "samples": len(samples),
        "metrics": metrics,
        "baseline": baseline,
        "champion": champion,
        "gate": verdict,
        "settings": {
            "test_file": str(test_file),
            "max_tokens": args.max_tokens,
            "concurrency": args.concurrency,
            "temperature": 0,
        },
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 2),
    }
    write_json(report, predictions, args.output_dir)
    write_html(report, predictions, args.output_dir)
    summary = summary_line(report, args.output_dir)
    if metrics["errors"] == len(samples):
        first = next(r["error"] for r in results)
        print(
            f"no request to {args.endpoint_name} succeeded; first error: {first}", file=sys.stderr
        )
        print(summary, flush=True)
        return 1
    print(summary, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
