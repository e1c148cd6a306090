"""The dated price table (``prices.json``): USD per instance-hour, by region, usage and type.

SageMaker bills each instance type per second at an hourly rate that differs by region and by
what the instance does: a training job, a processing job or an endpoint ("hosting")
(https://aws.amazon.com/sagemaker/pricing/). The table is the fallback when the Price List API
cannot answer (the local cloud, an account without ``pricing:GetProducts``, the Lambdas, which
make no pricing calls); ``make prices`` refreshes it from that API (``costs/refresh.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).resolve().with_name("prices.json")
USAGES = ("training", "processing", "hosting")
# Prices change a few times a year; past this age every answer from the table says so.
MAX_AGE_DAYS = 90


class PriceNotFoundError(LookupError):
    """The table has no price for an instance type in a region and usage."""


# How a table written by ``make prices`` (costs/refresh.py) names its source.
API_SOURCE_PREFIX = "AWS Price List API"


@dataclass(frozen=True)
class PriceTable:
    """A loaded ``prices.json``: ``prices[region][usage][instance_type]`` in USD per hour."""

    as_of: date
    source: str
    prices: dict[str, dict[str, dict[str, float]]]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PriceTable:
        """Reads the table's JSON form.

        Raises:
            ValueError: a missing key, a usage other than training/processing/hosting, or a
                price that is not a positive number.
        """
        try:
            as_of, source, regions = data["as_of"], data["source"], data["regions"]
        except KeyError as missing:
            raise ValueError(f"price table: missing key {missing}") from None
        for region, usages in regions.items():
            for usage, prices in usages.items():
                if usage not in USAGES:
                    raise ValueError(f"price table: {region}.{usage} is not one of {USAGES}")
                for instance_type, price in prices.items():
                    if isinstance(price, bool) or not isinstance(price, (int, float)) or price <= 0:
                        raise ValueError(
                            f"price table: {region}.{usage}.{instance_type} must be a positive "
                            f"number of USD per hour, got {price!r}"
                        )
        return cls(as_of=date.fromisoformat(as_of), source=source, prices=regions)

    def price(self, region: str, usage: str, instance_type: str) -> float:
        """USD per instance-hour.

        Raises:
            PriceNotFoundError: naming what is missing and how to add it.
        """
        found = self.prices.get(region, {}).get(usage, {}).get(instance_type)
        if found is None:
            raise PriceNotFoundError(
                f"no {usage} price for {instance_type} in {region} in costs/prices.json "
                f"(as of {self.as_of}): run `make prices` with AWS credentials, or add it by hand "
                "from https://aws.amazon.com/sagemaker/pricing/"
            )
        return float(found)

    def age_days(self, today: date) -> int:
        """Days between the table's date and ``today``."""
        return (today - self.as_of).days

    def freshness(self, today: date) -> str | None:
        """A warning when the table is older than ``MAX_AGE_DAYS`` on ``today``, or was not
        written from the Price List API (``make prices``); else None."""
        age = self.age_days(today)
        if age > MAX_AGE_DAYS:
            return (
                f"the price table is {age} days old (as of {self.as_of}, more than "
                f"{MAX_AGE_DAYS}): refresh it with `make prices`"
            )
        if not self.source.startswith(API_SOURCE_PREFIX):
            return (
                "the price table was not read from the Price List API (see its source): "
                "refresh it with `make prices`"
            )
        return None

    def describe(self) -> str:
        """How an answer priced from this table names its source."""
        return f"price table costs/prices.json as of {self.as_of}"


def load_table(path: Path = TABLE_PATH) -> PriceTable:
    """The table shipped with the code (or another file of the same form)."""
    return PriceTable.from_json(json.loads(path.read_text()))
