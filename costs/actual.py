"""The cost of a run after it ends, from what SageMaker reports about what it ran.

- Training: ``BillableTimeInSeconds`` x ``InstanceCount`` at the on-demand training price.
  With managed spot the billable time is already the discounted time, and the saving is
  ``1 - BillableTimeInSeconds / TrainingTimeInSeconds``
  (https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html;
  botocore's ``DescribeTrainingJobResponse``).
- Processing jobs: ``ProcessingEndTime - ProcessingStartTime`` x ``InstanceCount``
  (``DescribeProcessingJobResponse``).
- Temporary endpoints: from ``CreationTime`` (``DescribeEndpointOutput``), which the cleanup's
  look-up keeps, to the moment the cost is computed, which follows the deletes: SageMaker
  bills an endpoint's instances until it is deleted, so this bounds it by a few seconds.

Each stage that never ran (a run that failed early) is absent, and a note says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from costs.estimate import stage_cost
from costs.price_list import Prices


def timestamp(value: datetime | str | float) -> datetime:
    """A datetime from boto3 (a datetime), from Step Functions (ISO 8601 text, as its aws-sdk
    integrations pass a response's timestamps on, e.g. ``"2013-08-23T01:02:15.422Z"``:
    https://github.com/sam-goodwin/functionless/issues/489) or from the wire (seconds since the
    epoch, as the JSON protocol sends timestamps)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def training_cost(described: dict[str, Any], prices: Prices, region: str) -> dict[str, Any]:
    """The training job's line, with its billable and training seconds and spot saving."""
    resources = described["ResourceConfig"]
    billable = float(described.get("BillableTimeInSeconds") or 0)
    trained = float(described.get("TrainingTimeInSeconds") or 0)
    line = stage_cost(
        "training",
        "training",
        resources["InstanceType"],
        int(resources["InstanceCount"]),
        billable,
        prices.price(region, "training", resources["InstanceType"]),
    )
    line["billable_seconds"] = billable
    line["training_seconds"] = trained
    line["spot"] = bool(described.get("EnableManagedSpotTraining"))
    if line["spot"] and trained > 0:
        line["spot_saving_percent"] = round((1 - billable / trained) * 100, 1)
    return line


def processing_cost(
    stage: str, described: dict[str, Any], prices: Prices, region: str
) -> dict[str, Any] | None:
    """A processing job's line; None when it never started."""
    cluster = described["ProcessingResources"]["ClusterConfig"]
    start, end = described.get("ProcessingStartTime"), described.get("ProcessingEndTime")
    if start is None or end is None:
        return None
    seconds = (timestamp(end) - timestamp(start)).total_seconds()
    return stage_cost(
        stage,
        "processing",
        cluster["InstanceType"],
        int(cluster["InstanceCount"]),
        max(seconds, 0.0),
        prices.price(region, "processing", cluster["InstanceType"]),
    )


def endpoint_cost(
    stage: str,
    instance_type: str,
    created: datetime | str,
    ended: datetime | str,
    prices: Prices,
    region: str,
) -> dict[str, Any]:
    """A temporary endpoint's line: one instance from its creation to ``ended``."""
    seconds = (timestamp(ended) - timestamp(created)).total_seconds()
    return stage_cost(
        stage,
        "hosting",
        instance_type,
        1,
        max(seconds, 0.0),
        prices.price(region, "hosting", instance_type),
    )


def computed_cost(
    lines: list[dict[str, Any] | None],
    missing: list[str],
    prices: Prices,
    region: str,
    local: bool,
) -> dict[str, Any]:
    """The run's cost from its lines (None for a stage that did not run)."""
    stages = [line for line in lines if line is not None]
    notes = [f"{what}: not run, nothing billed" for what in missing]
    if local:
        notes.append(
            "an estimate: the local cloud's own job and endpoint times at the environment's "
            "SageMaker prices; nothing was billed"
        )
    return {
        "kind": "local estimate" if local else "computed",
        "upper_bound": False,
        "currency": "USD",
        "region": region,
        "source": prices.describe(),
        "stages": stages,
        "total_usd": round(sum(stage["usd"] for stage in stages), 2),
        "notes": notes,
    }
