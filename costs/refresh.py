"""Refreshes ``costs/prices.json`` from the AWS Price List API (``make prices``).

    AWS_PROFILE=... python -m costs.refresh

Asks ``pricing:GetProducts`` (us-east-1 endpoint) for every instance type and usage the table
holds, plus those ``config/environments.yaml`` names, in every region the table or the config
names, and writes the table with today's date. A price the API does not give keeps its old
value, and the table's ``source`` lists it. Needs credentials allowed ``pricing:GetProducts``.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from costs.price_list import PRICING_REGION, SERVICE_CODE, price_list_price
from costs.price_table import API_SOURCE_PREFIX, TABLE_PATH, USAGES, PriceTable, load_table

API_SOURCE = (
    f"{API_SOURCE_PREFIX} (pricing:GetProducts, {SERVICE_CODE}, on-demand, attributes regionCode, "
    "instanceName and component), https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/"
    "price-changes.html"
)


def wanted(table: PriceTable, configured: dict[str, dict[str, set[str]]]) -> dict:
    """region -> usage -> instance types: the table's, plus the configured ones."""
    regions: dict[str, dict[str, set[str]]] = {}
    for region, usages in table.prices.items():
        for usage, prices in usages.items():
            regions.setdefault(region, {}).setdefault(usage, set()).update(prices)
    for region, usages in configured.items():
        for usage, types in usages.items():
            regions.setdefault(region, {}).setdefault(usage, set()).update(types)
    return regions


def refreshed(
    client: Any, table: PriceTable, configured: dict[str, dict[str, set[str]]], today: date
) -> tuple[dict[str, Any], list[str]]:
    """The new table's JSON, and the ``region usage type`` entries kept from the old one."""
    regions: dict[str, dict[str, dict[str, float]]] = {}
    kept: list[str] = []
    for region, usages in sorted(wanted(table, configured).items()):
        for usage in USAGES:
            for instance_type in sorted(usages.get(usage, ())):
                try:
                    price = price_list_price(client, region, usage, instance_type)
                except LookupError:
                    old = table.prices.get(region, {}).get(usage, {}).get(instance_type)
                    if old is None:
                        continue
                    price = old
                    kept.append(f"{region} {usage} {instance_type}")
                regions.setdefault(region, {}).setdefault(usage, {})[instance_type] = price
    source = API_SOURCE
    if kept:
        source += f"; kept from the table of {table.as_of} (no answer): {', '.join(kept)}"
    data = {
        "as_of": today.isoformat(),
        "currency": "USD",
        "unit": "per instance-hour, on-demand",
        "source": source,
        "regions": regions,
    }
    return data, kept


def _configured() -> dict[str, dict[str, set[str]]]:
    from stacks.config import load_config

    configured: dict[str, dict[str, set[str]]] = {}
    for env in load_config().environments.values():
        usages = configured.setdefault(env.region, {})
        usages.setdefault("training", set()).add(env.training.instance_type)
        usages.setdefault("processing", set()).add(env.processing.instance_type)
        usages.setdefault("hosting", set()).update(
            {env.evaluation.instance_type, env.endpoint.instance_type}
        )
    return configured


def main(path: Path = TABLE_PATH) -> int:
    """Writes the refreshed table to ``path``; 0 on success."""
    import boto3

    client = boto3.client("pricing", region_name=PRICING_REGION)
    data, kept = refreshed(client, load_table(path), _configured(), date.today())
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path} as of {data['as_of']}; {len(kept)} price(s) kept from the old table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
