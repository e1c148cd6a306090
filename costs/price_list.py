"""Prices from the AWS Price List API, with the table as the fallback.

``pricing:GetProducts`` answers from two endpoints only; us-east-1 serves every region's prices
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-price-list-query-api.html).
SageMaker's products are ``ML Instance`` products whose attributes name the region
(``regionCode``), the instance (``instanceName``) and what it does (``component``: Training,
Processing, Hosting), as in the offer file
https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonSageMaker/current/index.json.
The client is passed in, so this module needs no boto3 of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from costs.price_table import PriceTable

PRICING_REGION = "us-east-1"
SERVICE_CODE = "AmazonSageMaker"
COMPONENTS = {"training": "Training", "processing": "Processing", "hosting": "Hosting"}


class Prices(Protocol):
    """Anything that prices an instance-hour and names where its prices come from."""

    def price(self, region: str, usage: str, instance_type: str) -> float: ...

    def describe(self) -> str: ...


def on_demand_usd(price_list_item: str) -> list[float]:
    """The hourly on-demand USD prices of one GetProducts ``PriceList`` entry (a JSON string)."""
    product = json.loads(price_list_item)
    prices = []
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", "0"))
            if usd > 0 and dimension.get("unit", "").lower().startswith("hr"):
                prices.append(usd)
    return prices


def price_list_price(client: Any, region: str, usage: str, instance_type: str) -> float:
    """The on-demand USD per hour that GetProducts gives; the highest where several match, so
    an estimate stays an upper bound.

    Raises:
        LookupError: the API knows no such product.
    """
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        {"Type": "TERM_MATCH", "Field": "component", "Value": COMPONENTS[usage]},
    ]
    prices: list[float] = []
    token = None
    while True:
        request = {"ServiceCode": SERVICE_CODE, "Filters": filters, "FormatVersion": "aws_v1"}
        if token:
            request["NextToken"] = token
        answer = client.get_products(**request)
        for item in answer.get("PriceList", []):
            prices += on_demand_usd(item)
        token = answer.get("NextToken")
        if not token:
            break
    if not prices:
        raise LookupError(
            f"the Price List API has no {usage} price for {instance_type} in {region}"
        )
    return max(prices)


@dataclass
class FixedPrices:
    """Prices already looked up, keyed by (region, usage, instance type)."""

    found: dict[tuple[str, str, str], float]
    source: str

    def price(self, region: str, usage: str, instance_type: str) -> float:
        """USD per instance-hour."""
        return self.found[(region, usage, instance_type)]

    def describe(self) -> str:
        """Where the prices come from."""
        return self.source


@dataclass
class TablePrices:
    """The price table, saying why it is used in place of the Price List API."""

    table: PriceTable
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def price(self, region: str, usage: str, instance_type: str) -> float:
        """USD per instance-hour."""
        return self.table.price(region, usage, instance_type)

    def describe(self) -> str:
        """The table and its date, and why the API was not used."""
        return self.table.describe() + (f" ({self.reason})" if self.reason else "")


def choose_prices(
    client: Any | None, table: PriceTable, needed: Iterable[tuple[str, str, str]]
) -> Prices:
    """The Price List API's prices for every ``(region, usage, instance type)`` in ``needed``
    when ``client`` answers them all; otherwise the table, saying why."""
    if client is None:
        return TablePrices(table, "the local cloud has no Price List API")
    try:
        found = {item: price_list_price(client, *item) for item in set(needed)}
    except Exception as error:  # no access, no network, throttled: the table still answers
        return TablePrices(table, f"the Price List API did not answer: {error}")
    return FixedPrices(found, f"AWS Price List API ({SERVICE_CODE}, on-demand)")
