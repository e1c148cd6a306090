"""The price table: its form, its look-ups and its freshness check (with dates passed in)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from costs.price_table import (
    API_SOURCE_PREFIX,
    MAX_AGE_DAYS,
    PriceNotFoundError,
    PriceTable,
    load_table,
)
from costs.refresh import API_SOURCE, refreshed
from stacks.config import load_config

TABLE = PriceTable.from_json(
    {
        "as_of": "2026-01-10",
        "source": "AWS Price List API (test)",
        "regions": {"us-east-1": {"training": {"ml.g5.2xlarge": 1.5}}},
    }
)


def test_every_instance_type_the_environments_use_has_every_price_it_needs():
    table = load_table()
    for env in load_config().environments.values():
        table.price(env.region, "training", env.training.instance_type)
        table.price(env.region, "processing", env.processing.instance_type)
        table.price(env.region, "hosting", env.evaluation.instance_type)
        table.price(env.region, "hosting", env.endpoint.instance_type)


@pytest.mark.parametrize("family", ["ml.g5", "ml.g6", "ml.p4d", "ml.m5", "ml.c5"])
def test_the_common_families_are_priced_for_every_usage(family):
    table = load_table()
    for usage in ("training", "processing", "hosting"):
        assert any(name.startswith(family + ".") for name in table.prices["us-east-1"][usage])


def test_a_missing_price_names_it_and_says_how_to_add_it():
    with pytest.raises(PriceNotFoundError, match=r"hosting price for ml\.g5\.2xlarge.*make prices"):
        TABLE.price("us-east-1", "hosting", "ml.g5.2xlarge")


def test_the_table_is_fresh_up_to_its_limit_and_stale_after():
    assert TABLE.freshness(date(2026, 1, 10)) is None
    limit = date.fromordinal(date(2026, 1, 10).toordinal() + MAX_AGE_DAYS)
    assert TABLE.freshness(limit) is None
    later = date.fromordinal(limit.toordinal() + 1)
    warning = TABLE.freshness(later)
    assert warning is not None
    assert f"{MAX_AGE_DAYS + 1} days old" in warning and "make prices" in warning


def test_a_table_not_read_from_the_price_list_api_says_so_while_fresh():
    transcribed = PriceTable(TABLE.as_of, "transcribed by hand", TABLE.prices)
    warning = transcribed.freshness(date(2026, 1, 10))
    assert warning is not None
    assert "not read from the Price List API" in warning and "make prices" in warning
    # What make prices writes is recognised as read from the API.
    assert API_SOURCE.startswith(API_SOURCE_PREFIX)


@pytest.mark.parametrize("price", [0, -1, True, "1.5"])
def test_a_price_that_is_not_a_positive_number_is_refused(price):
    with pytest.raises(ValueError, match="positive number"):
        PriceTable.from_json(
            {"as_of": "2026-01-10", "source": "s", "regions": {"r": {"training": {"t": price}}}}
        )


def test_an_unknown_usage_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        PriceTable.from_json(
            {"as_of": "2026-01-10", "source": "s", "regions": {"r": {"notebook": {"t": 1.0}}}}
        )


class PriceList:
    """GetProducts answering for g5.2xlarge only."""

    def get_products(self, **request):
        fields = {f["Field"]: f["Value"] for f in request["Filters"]}
        if fields["instanceName"] != "ml.g5.2xlarge":
            return {"PriceList": []}
        term = {"priceDimensions": {"d": {"unit": "Hrs", "pricePerUnit": {"USD": "1.6"}}}}
        return {"PriceList": [json.dumps({"terms": {"OnDemand": {"t": term}}})]}


def test_a_refresh_dates_the_table_and_keeps_what_the_api_does_not_price():
    configured = {"us-east-1": {"hosting": {"ml.g5.2xlarge"}}}
    data, kept = refreshed(PriceList(), TABLE, configured, date(2026, 3, 1))
    refreshed_table = PriceTable.from_json(data)
    assert refreshed_table.as_of == date(2026, 3, 1)
    assert refreshed_table.price("us-east-1", "training", "ml.g5.2xlarge") == 1.6
    assert refreshed_table.price("us-east-1", "hosting", "ml.g5.2xlarge") == 1.6
    assert kept == []
    data, kept = refreshed(PriceList(), PriceTable.from_json(
        {"as_of": "2026-01-10", "source": "s", "regions": {"r": {"training": {"ml.p9": 9.0}}}}
    ), {}, date(2026, 3, 1))  # fmt: skip
    assert kept == ["r training ml.p9"]
    assert "kept from the table of 2026-01-10" in data["source"]
