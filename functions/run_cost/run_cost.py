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

from contracts.workflow import COST_FILE, ENV_LOCAL_CLOUD, ENV_RUN_RESOURCES, REPORT_PAGE
from costs.actual import computed_cost, endpoint_cost, processing_cost, training_cost
from costs.estimate import RunResources, summary
from costs.price_list import TablePrices
from costs.price_table import load_table

# (stage, its key in $.cleanup, written by steps/cleanup.py's look-ups)
ENDPOINTS = (
    ("evaluation endpoint", "lookup"),
    ("base endpoint", "base_lookup"),
    ("champion endpoint", "champion_lookup"),
)


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
    processing = sagemaker.describe_processing_job
    prepare = _describe(processing, ProcessingJobName=names["prepare_job"])
    training = _describe(sagemaker.describe_training_job, TrainingJobName=names["training_job"])
    evaluate = _describe(processing, ProcessingJobName=names["evaluation_job"])
    cleanup = state.get("cleanup", {})
    endpoints = [
        endpoint_cost(stage, resources.endpoint_instance_type, created, now, prices, region)
        for stage, key in ENDPOINTS
        if (created := cleanup.get(key, {}).get("created"))
    ]
    jobs = {
        "preparation": prepare and processing_cost("preparation", prepare, prices, region),
        "training": training and training_cost(training, prices, region),
        "evaluation": evaluate and processing_cost("evaluation", evaluate, prices, region),
    }
    lines = [jobs["preparation"], jobs["training"], *endpoints, jobs["evaluation"]]
    missing = [stage for stage, line in jobs.items() if line is None]
    cost = computed_cost(lines, missing, prices, region, local)
    stale = table.freshness(date.fromisoformat(now[:10]))
    if stale:
        cost["notes"].append(stale)
    cost["summary"] = summary(cost)
    return cost


def _read(s3: Any, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def _put(s3: Any, bucket: str, key: str, body: str, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=content_type)


def record(s3: Any, state: dict[str, Any], cost: dict[str, Any]) -> None:
    """cost.json in the run's folder; where the evaluation wrote its reports (the state holds
    the report it read), the cost in report.json and a section in report.html. The role may
    not list the bucket, so an object is only read where it is known to exist."""
    run = state["run"]
    bucket, report_key = run["report"]["bucket"], run["report"]["key"]
    run_folder = report_key.split("evaluation/")[0]
    _put(s3, bucket, run_folder + COST_FILE, json.dumps(cost, indent=2), "application/json")
    if "report" not in state.get("evaluation", {}):
        return
    report = json.loads(_read(s3, bucket, report_key))
    _put(s3, bucket, report_key, json.dumps({**report, "cost": cost}, indent=2), "application/json")
    # The evaluation job writes report.html beside report.json (training_code/eval_report.py).
    html_key = report_key.rsplit("/", 1)[0] + "/" + REPORT_PAGE
    _put(s3, bucket, html_key, add_to_html(_read(s3, bucket, html_key), cost), "text/html")


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
    record(s3, state, cost)
    print(json.dumps({"run_name": state["run"]["run_name"], "total_usd": cost["total_usd"]}))
    return cost
