"""The "Cost the run" state: what the run cost, from what SageMaker reports, after its cleanup.

Lambda handler ``run_cost.handler`` (Python 3.12 with the ``costs`` package beside it, and the
runtime's boto3). The state machine sends ``{"state": <the execution's state>, "now":
<$$.State.EnteredTime>}`` after the cleanup, on success and on failure. The function

- describes the run's processing jobs and training job (``$.run.names``), and prices each
  endpoint the cleanup found from its ``CreationTime`` (kept in ``$.cleanup``) to ``now``;
- writes ``runs/<run>/cost.json``, and adds the cost to ``evaluation/report.json`` and a
  section to ``evaluation/report.html`` where the evaluation wrote them;
- returns the cost (with a one-line ``summary``) for the notification.

A stage the run never reached ("Could not find" the job) is left out and noted. Any other
error fails the task, whose Catch records the cost as unavailable: the run's outcome never
depends on its bill. Prices come from the table the bundle carries (``costs/prices.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from typing import Any

from report_section import add_to_html

from costs.actual import computed_cost, endpoint_cost, processing_cost, training_cost
from costs.estimate import RunResources, summary
from costs.price_list import TablePrices
from costs.price_table import load_table

ENV_RUN_RESOURCES = "RUN_RESOURCES"
# "true" where the jobs and endpoints are the local cloud's: the cost is then an estimate.
ENV_LOCAL_CLOUD = "LOCAL_CLOUD"
COST_FILE = "cost.json"
# (stage, its key in $.cleanup, written by steps/cleanup.py's look-ups)
ENDPOINTS = (("evaluation endpoint", "lookup"), ("base endpoint", "base_lookup"))


def _not_found(error: Exception) -> bool:
    """SageMaker's answer for a job that does not exist (ValidationException, "Could not find")."""
    return "Could not find" in str(error) or "does not exist" in str(error)


def _describe(call: Callable[..., dict], **name: str) -> dict | None:
    try:
        return call(**name)
    except Exception as error:
        if _not_found(error):
            return None
        raise


def cost_of(
    state: dict[str, Any], now: str, sagemaker: Any, resources: RunResources, local: bool
) -> dict[str, Any]:
    """The run's computed cost, per stage and in total (``costs.actual``)."""
    names = state["run"]["names"]
    region = resources.region
    table = load_table()
    prices = TablePrices(table)
    lines: list[dict[str, Any] | None] = []
    missing: list[str] = []
    jobs = (
        ("preparation", names["prepare_job"]),
        ("training", names["training_job"]),
    )
    for stage, job in jobs:
        if stage == "training":
            described = _describe(sagemaker.describe_training_job, TrainingJobName=job)
            lines.append(None if described is None else training_cost(described, prices, region))
        else:
            described = _describe(sagemaker.describe_processing_job, ProcessingJobName=job)
            lines.append(
                None if described is None else processing_cost(stage, described, prices, region)
            )
        if lines[-1] is None:
            missing.append(stage)
    cleanup = state.get("cleanup", {})
    for stage, key in ENDPOINTS:
        created = cleanup.get(key, {}).get("created")
        if created:
            lines.append(
                endpoint_cost(stage, resources.endpoint_instance_type, created, now, prices, region)
            )
    described = _describe(
        sagemaker.describe_processing_job, ProcessingJobName=names["evaluation_job"]
    )
    evaluation = (
        None if described is None else processing_cost("evaluation", described, prices, region)
    )
    lines.append(evaluation)
    if evaluation is None:
        missing.append("evaluation")
    cost = computed_cost(lines, missing, prices, region, local)
    stale = table.freshness(date.fromisoformat(now[:10]))
    if stale:
        cost["notes"].append(stale)
    cost["summary"] = summary(cost)
    return cost


def _read(s3: Any, bucket: str, key: str) -> str | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except Exception as error:
        if "NoSuchKey" in str(error) or "Not Found" in str(error) or "404" in str(error):
            return None
        raise


def record(s3: Any, run: dict[str, Any], cost: dict[str, Any]) -> None:
    """cost.json in the run's folder; the cost in report.json and report.html if they exist."""
    bucket, report_key = run["report"]["bucket"], run["report"]["key"]
    run_folder = report_key.split("evaluation/")[0]
    s3.put_object(
        Bucket=bucket,
        Key=run_folder + COST_FILE,
        Body=json.dumps(cost, indent=2).encode(),
        ContentType="application/json",
    )
    report = _read(s3, bucket, report_key)
    if report is not None:
        s3.put_object(
            Bucket=bucket,
            Key=report_key,
            Body=json.dumps({**json.loads(report), "cost": cost}, indent=2).encode(),
            ContentType="application/json",
        )
    html_key = report_key.rsplit("/", 1)[0] + "/report.html"
    page = _read(s3, bucket, html_key)
    if page is not None:
        s3.put_object(
            Bucket=bucket,
            Key=html_key,
            Body=add_to_html(page, cost).encode(),
            ContentType="text/html",
        )


def handler(event: dict[str, Any], context: Any = None, clients: Any = None) -> dict[str, Any]:
    """Computes, records and returns the run's cost.

    ``clients`` (tests) has ``sagemaker`` and ``s3``; by default boto3's.

    Raises:
        ValueError: the event is not what the state machine sends.
    """
    if not isinstance(event, dict) or "state" not in event or "now" not in event:
        raise ValueError("expected {'state': ..., 'now': ...} from the state machine")
    if clients is None:
        import boto3  # in the Lambda runtime; the costs package itself needs no AWS SDK

        sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
    else:
        sagemaker, s3 = clients.sagemaker, clients.s3
    resources = RunResources.from_json(json.loads(os.environ[ENV_RUN_RESOURCES]))
    local = os.environ.get(ENV_LOCAL_CLOUD) == "true"
    state = event["state"]
    cost = cost_of(state, event["now"], sagemaker, resources, local)
    record(s3, state["run"], cost)
    print(json.dumps({"run_name": state["run"]["run_name"], "total_usd": cost["total_usd"]}))
    return cost
