"""The run plan's ``cost_estimate``: the upper bound of what the run may cost, from the table.

The Lambda makes no AWS calls (it may run in a VPC with no way out), so it prices from the
dated table it carries (``costs/prices.json``); ``python -m cli start`` asks the Price List API.
An instance type the table lacks gives an estimate marked unavailable, never a rejected run.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from costs.estimate import RunResources, estimate
from costs.price_list import TablePrices
from costs.price_table import PriceNotFoundError, load_table


def cost_estimate(
    evaluation: dict[str, Any], resources: RunResources | None, today: date
) -> dict[str, Any]:
    """``costs.estimate.estimate`` for the run's ``evaluation`` input, or why there is none."""
    if resources is None:
        return {"kind": "estimate", "unavailable": "the function has no RUN_RESOURCES setting"}
    table = load_table()
    prices = TablePrices(table, "the validation Lambda makes no AWS calls")
    try:
        return estimate(resources, evaluation, prices, table, today)
    except PriceNotFoundError as error:
        return {"kind": "estimate", "unavailable": str(error)}
