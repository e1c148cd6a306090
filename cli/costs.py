"""What a run will cost (before ``start``) and what it cost (``runs``, ``report``), for people.

The estimate prices the environment's config (``config/environments.yaml``) the way the
validation Lambda does (``costs.estimate``); on AWS it asks the Price List API first
(``costs.price_list``), and says which prices it used. The cost after a run is the one the
workflow's cost step wrote to ``runs/<run_name>/cost.json``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from cli.target import Target
from contracts.workflow import COST_FILE
from costs.estimate import estimate
from costs.price_list import PRICING_REGION, choose_prices
from costs.price_table import PriceNotFoundError, load_table
from stacks.config import load_config
from stacks.run_resources import run_resources


def estimate_for(
    target: Target, execution_input: dict[str, Any], today: date | None = None
) -> dict[str, Any]:
    """The upper-bound cost of running ``execution_input`` in ``target``'s environment, or
    ``{"unavailable": why}`` when an instance type has no price: the run may still start."""
    config = load_config().environments[target.env_name]
    resources = run_resources(config)
    table = load_table()
    # The local cloud has no Price List API; on AWS the us-east-1 endpoint serves all regions.
    client = (
        None
        if target.endpoint_url
        else target.session.client("pricing", region_name=PRICING_REGION)
    )
    needed = [
        (resources.region, "processing", resources.processing_instance_type),
        (resources.region, "training", resources.training_instance_type),
        (resources.region, "hosting", resources.endpoint_instance_type),
    ]
    evaluation = execution_input.get("evaluation")
    evaluation = dict(evaluation) if isinstance(evaluation, dict) else {}
    if "compare_with" not in evaluation and "compare_with_base" not in evaluation:
        # The validation Lambda takes the environment's default then.
        evaluation["compare_with"] = config.evaluation.compare_with
    try:
        return estimate(
            resources,
            evaluation,
            choose_prices(client, table, needed),
            table,
            today or date.today(),
        )
    except PriceNotFoundError as error:
        return {"unavailable": str(error)}


def format_cost(cost: dict[str, Any]) -> str:
    """A table of the stages, the total, the price source and the notes."""
    if "unavailable" in cost:
        return f"Cost: unavailable ({cost['unavailable']})"
    title = "Estimated cost (upper bound)" if cost.get("upper_bound") else f"Cost ({cost['kind']})"
    lines = [f"{title}, {cost['currency']}, {cost['region']}:"]
    for stage in cost["stages"]:
        hours = stage["seconds"] / 3600
        lines.append(
            f"  {stage['stage']:<22}{stage['instance_count']:>3} x {stage['instance_type']:<16}"
            f"{hours:>8.2f} h x {stage['usd_per_hour']:>8.4f}/h = {stage['usd']:>9.2f}"
        )
    lines.append(f"  {'total':<71}{cost['total_usd']:>9.2f}")
    lines.append(f"  prices: {cost['source']}")
    lines += [f"  note: {note}" for note in cost.get("notes", [])]
    return "\n".join(lines)


def run_cost(target: Target, run_name: str) -> dict[str, Any] | None:
    """``runs/<run_name>/cost.json``, or None when the run has none (yet)."""
    _, artifacts = target.buckets()
    try:
        body = target.client("s3").get_object(Bucket=artifacts, Key=f"runs/{run_name}/{COST_FILE}")[
            "Body"
        ]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return json.loads(body.read())
