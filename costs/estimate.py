"""The cost of a run before it starts: an upper bound, priced stage by stage.

Each stage is priced at the longest it may run, since SageMaker stops it then:

- preparation: the processing instance for the processing job's ``MaxRuntimeInSeconds``;
- training: instance type x count for the training job's ``MaxRuntimeInSeconds`` (managed spot
  bills at most that, at a lower rate, so the on-demand figure bounds it);
- the evaluation endpoints: one instance each (``InitialInstanceCount`` 1), from creation until
  the cleanup deletes them; one endpoint, plus one for each model the run compares with (the
  base model, the champion, or both). They are created together and waited for one after the
  other, each for up to its poll schedule's total (``endpoint_wait_s``: the waits between
  DescribeEndpoint calls, which sum to at least the endpoint timeout; docs/workflow.md), so each
  lives at most the number of endpoints x that wait, plus the evaluation job's
  ``MaxRuntimeInSeconds``;
- evaluation: the processing instance for the evaluation job's ``MaxRuntimeInSeconds``.

A job waits in the queue for spot capacity unbilled, so ``MaxWaitTimeInSeconds`` adds nothing
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from costs.price_list import Prices
from costs.price_table import PriceTable

SECONDS_PER_HOUR = 3600
# The models ``evaluation.compare_with`` may name, each on a temporary endpoint of its own.
COMPARED_MODELS = ("base", "champion")


@dataclass(frozen=True)
class RunResources:
    """What an environment's runs launch: instance types, counts and time limits (seconds)."""

    region: str
    training_instance_type: str
    training_instance_count: int
    training_max_runtime_s: int
    use_spot: bool
    processing_instance_type: str
    processing_max_runtime_s: int
    endpoint_instance_type: str
    # The longest one endpoint is waited for: the poll schedule's total, at least the timeout.
    endpoint_wait_s: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResources:
        """The form the stack writes into the validation Lambda's environment.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """
        try:
            resources = cls(**data)
        except TypeError as error:
            raise ValueError(f"run resources: {error}") from None
        for name, kind in cls.__annotations__.items():
            value = getattr(resources, name)
            expected = {"str": str, "int": int, "bool": bool}[kind]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ValueError(f"run resources: {name} must be a {kind}, got {value!r}")
        return resources


def temporary_endpoints(evaluation: dict[str, Any]) -> int:
    """1, plus one per model the run's ``evaluation`` compares with: ``compare_with`` (``base``,
    ``champion``, ``none`` or a list of them), the older ``compare_with_base: true``, or the run
    plan's ``compare_with_base`` / ``compare_with_champion`` flags. A champion that turns out
    not to exist yet is counted: the bound holds whatever the look-up finds."""
    named = evaluation.get("compare_with")
    compared = {named} if isinstance(named, str) else set(named or [])
    compared &= set(COMPARED_MODELS)
    for model in COMPARED_MODELS:
        if evaluation.get(f"compare_with_{model}") is True:
            compared.add(model)
    return 1 + len(compared)


def stage_cost(
    stage: str, usage: str, instance_type: str, count: int, seconds: float, usd_per_hour: float
) -> dict[str, Any]:
    """One line of a cost: ``count`` instances of ``instance_type`` for ``seconds`` each."""
    return {
        "stage": stage,
        "usage": usage,
        "instance_type": instance_type,
        "instance_count": count,
        "seconds": round(seconds, 3),
        "usd_per_hour": usd_per_hour,
        "usd": round(count * seconds / SECONDS_PER_HOUR * usd_per_hour, 4),
    }


def estimate(
    resources: RunResources,
    evaluation: dict[str, Any],
    prices: Prices,
    table: PriceTable,
    today: date,
) -> dict[str, Any]:
    """The run's upper-bound cost in USD, per stage and in total, and its price source.

    ``evaluation`` is the run's ``evaluation`` input (for ``compare_with``); ``table`` and
    ``today`` give the freshness note.

    Raises:
        costs.price_table.PriceNotFoundError: an instance type has no price.
    """
    r = resources
    processing = prices.price(r.region, "processing", r.processing_instance_type)
    endpoints = temporary_endpoints(evaluation)
    stages = [
        stage_cost(
            "preparation", "processing", r.processing_instance_type, 1,
            r.processing_max_runtime_s, processing,
        ),
        stage_cost(
            "training", "training", r.training_instance_type, r.training_instance_count,
            r.training_max_runtime_s,
            prices.price(r.region, "training", r.training_instance_type),
        ),
        stage_cost(
            "evaluation endpoints", "hosting", r.endpoint_instance_type, endpoints,
            endpoints * r.endpoint_wait_s + r.processing_max_runtime_s,
            prices.price(r.region, "hosting", r.endpoint_instance_type),
        ),
        stage_cost(
            "evaluation", "processing", r.processing_instance_type, 1,
            r.processing_max_runtime_s, processing,
        ),
    ]  # fmt: skip
    notes = []
    if r.use_spot:
        notes.append(
            "training uses managed spot: its bill is at most the on-demand figure shown, and "
            "typically lower"
        )
    stale = table.freshness(today)
    if stale:
        notes.append(stale)
    return {
        "kind": "estimate",
        "upper_bound": True,
        "currency": "USD",
        "region": r.region,
        "source": prices.describe(),
        "stages": stages,
        "total_usd": round(sum(stage["usd"] for stage in stages), 2),
        "notes": notes,
    }


def summary(cost: dict[str, Any]) -> str:
    """One line: the total and each stage, e.g. ``at most USD 12.34 (training 9.00, ...)``."""
    parts = ", ".join(f"{stage['stage']} {stage['usd']:.2f}" for stage in cost["stages"])
    prefix = "at most " if cost.get("upper_bound") else ""
    return f"{prefix}USD {cost['total_usd']:.2f} ({parts}); prices: {cost['source']}"
