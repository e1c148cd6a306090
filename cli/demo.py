"""The main job: the whole pipeline on the local cloud, from raw data to an evaluated model.

Starts the local cloud, deploys the ``local`` environment with the real CDK CLI, uploads the
bundled text-to-SQL dataset and SmolLM2-135M-Instruct, runs one execution of the fine-tuning state
machine (LoRA on CPU), follows it, and prints the evaluation report: the base model against the
fine-tuned model on the same held-out samples. It prints the run's cost estimate before starting
it and the cost computed from the local cloud's job and endpoint times after it (docs/costs.md).

With ``--compare-with champion`` it runs two executions in the same local cloud (each demo starts
a fresh one, so an earlier demo's model package is gone): the first registers its model (the
local environment approves it), which makes it the champion of the second, and the second's
report shows the new model, the champion and the base model side by side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cli import runs
from cli.costs import estimate_for, format_cost, run_cost
from cli.report_table import gate_lines, metrics_table
from cli.stages import stage_durations, stage_table
from cli.target import Target

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATASET = ROOT / "sample_data" / "text_to_sql.jsonl"
# Sized for a 2-core CPU: 40 steps of 2 packed rows of 1024 tokens (about 800 samples, a third
# of an epoch, about 3 min in bf16 on the project's machine) teach SmolLM2 to answer with the
# SQL alone; a GPU run would use the recipe's full epoch instead.
DEMO_STEPS = 40
# What a demo compares with: the base model (one execution), or the champion (two executions:
# the first one's registered model is the second one's champion, and both compare with the base).
COMPARISONS = ("base", "champion")
DEMO_HYPERPARAMETERS = {
    "gradient_accumulation_steps": 2,
    "max_eval_samples": 16,
    "logging_steps": 1,
    "save_steps": 5,
}


def upload_dir(target: Target, local: Path, bucket: str, prefix: str) -> str:
    """Uploads a folder's files under ``s3://bucket/prefix/``; returns that URI."""
    s3 = target.client("s3")
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(local).as_posix()}")
    return f"s3://{bucket}/{prefix}/"


def demo_input(
    data_uri: str,
    model_uri: str,
    *,
    max_steps: int | None,
    samples: int,
    compare_with: str | list[str] = "base",
) -> dict:
    """The execution input the demo starts (the same contract a user pastes in the console)."""
    execution_input: dict[str, Any] = {
        "base_model": model_uri,
        "dataset": {"s3_uri": data_uri, "format": "jsonl", "on_bad_record": "fail"},
        "recipe": "lora",
        "evaluation": {
            "metric": "exact_match",
            "threshold": 0.3,
            "max_samples": samples,
            # The sample's SQL answers are at most 24 tokens; the base model, which does not
            # know to stop, would otherwise run on to the default 128 on every sample.
            "max_tokens": 64,
            "compare_with": compare_with,
        },
    }
    execution_input["hyperparameters"] = {
        **DEMO_HYPERPARAMETERS,
        "max_steps": max_steps if max_steps is not None else DEMO_STEPS,
    }
    return execution_input


def summarise(
    report: dict[str, Any], timeline: runs.Timeline, where: str, setup_s: float | None = None
) -> str:
    """A person-readable ending: the gate, before/after metrics and each stage's duration
    (``setup_s``: the demo's own start, deploy and upload, before the execution)."""
    lines = ["", f"Evaluation on {report.get('samples', '?')} held-out samples:"]
    lines += metrics_table(report)
    lines += gate_lines(report.get("gate") or {})
    before = {"start the local cloud, deploy, upload": setup_s} if setup_s is not None else {}
    lines.append("Stages:")
    lines.append(stage_table(timeline.states, before))
    if report.get("cost"):
        lines.append(format_cost(report["cost"]))
    lines.append(f"Report: {where}")
    return "\n".join(lines)


def executions(compare_with: str) -> list[str | list[str]]:
    """Each execution's ``evaluation.compare_with``: one run against the base model, or a first
    run that registers the champion, then a run against it (and the base model)."""
    if compare_with not in COMPARISONS:
        raise ValueError(
            f"compare_with must be one of {', '.join(COMPARISONS)}, got {compare_with!r}"
        )
    return ["base"] if compare_with == "base" else ["base", ["base", "champion"]]


def run_demo(
    *,
    model: str,
    max_steps: int | None,
    samples: int,
    keep_running: bool,
    compare_with: str = "base",
) -> int:
    """Runs the main job; returns the process exit code."""
    from cli.sample_models import smollm2_dir, tiny_model_dir
    from localcloud import deploy
    from localcloud.server import start

    started = time.monotonic()
    model_dir = smollm2_dir() if model == "smollm2" else tiny_model_dir()
    print(f"[{_t(started)}] model ready: {model_dir}")
    cloud = start(detach=keep_running)
    try:
        print(f"[{_t(started)}] local cloud at {cloud.endpoint_url} (log: {cloud.log_file})")
        deploy.bootstrap(cloud)
        deploy.deploy(cloud, ROOT, {"env": "local"})
        print(f"[{_t(started)}] deployed the local environment with the CDK CLI")
        from cli.target import local_target

        target = local_target()
        data_bucket, _ = target.buckets()
        target.client("s3").upload_file(
            str(SAMPLE_DATASET), data_bucket, "datasets/text-to-sql.jsonl"
        )
        model_uri = upload_dir(target, model_dir, data_bucket, f"models/{model_dir.name}")
        print(f"[{_t(started)}] uploaded the dataset and base model")
        setup_s = time.monotonic() - started
        planned = executions(compare_with)
        for number, comparison in enumerate(planned, 1):
            if len(planned) > 1:
                role = "registers the champion" if number == 1 else "compares with it"
                print(f"[{_t(started)}] execution {number} of {len(planned)}: {role}")
            execution_input = demo_input(
                f"s3://{data_bucket}/datasets/text-to-sql.jsonl",
                model_uri,
                max_steps=max_steps,
                samples=samples,
                compare_with=comparison,
            )
            code = _run_once(target, execution_input, started, setup_s if number == 1 else None)
            if code != 0 and number < len(planned):
                print("the first execution registered no model: the second would have no champion")
                return code
        return code
    finally:
        if not keep_running:
            cloud.stop()


def _run_once(target: Target, execution_input: dict, started: float, setup_s: float | None) -> int:
    """Starts one execution, follows it and prints its report; returns the exit code."""
    print("execution input:")
    print(json.dumps(execution_input, indent=2))
    print(format_cost(estimate_for(target, execution_input)))
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    run_started = time.monotonic()
    arn = runs.start(target, execution_input, name=name)
    print(f"[{_t(started)}] started {arn}")
    timeline = runs.follow(target, arn)
    print(f"[{_t(started)}] execution {timeline.status}")
    if timeline.status != "SUCCEEDED":
        print(f"  {timeline.error}: {timeline.cause}")
    out_dir = ROOT / "build" / "runs" / name
    try:
        report = runs.fetch_report(target, name, out_dir)
    except FileNotFoundError as error:
        print(f"no report: {error}")
        cost = run_cost(target, name)
        print(format_cost(cost) if cost else "Cost: not computed")
        return 1
    print(summarise(report, timeline, str(out_dir / "report.html"), setup_s))
    (out_dir / "timeline.json").write_text(
        json.dumps(
            {
                "status": timeline.status,
                "durations_s": timeline.durations(),
                "stages_s": stage_durations(timeline.states),
                "total_s": time.monotonic() - run_started + (setup_s or 0.0),
            },
            indent=2,
        )
    )
    print(f"[{_t(started)}] done")
    return 0 if timeline.status == "SUCCEEDED" else 1


def _t(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"
