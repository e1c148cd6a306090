"""The estimate before a run: its arithmetic, its endpoints, spot and its price source."""

from __future__ import annotations

import json
from datetime import date

import pytest

from costs.estimate import RunResources, estimate, summary, temporary_endpoints
from costs.price_list import FixedPrices, TablePrices, choose_prices
from costs.price_table import PriceTable

REGION = "us-east-1"
TABLE = PriceTable.from_json(
    {
        "as_of": "2026-01-10",
        "source": "AWS Price List API (test)",
        "regions": {
            REGION: {
                "training": {"ml.g5.12xlarge": 7.0},
                "processing": {"ml.m5.xlarge": 0.2},
                "hosting": {"ml.g5.2xlarge": 1.5},
            }
        },
    }
)
RESOURCES = RunResources(
    region=REGION,
    training_instance_type="ml.g5.12xlarge",
    training_instance_count=2,
    training_max_runtime_s=3 * 3600,
    use_spot=False,
    processing_instance_type="ml.m5.xlarge",
    processing_max_runtime_s=1800,
    endpoint_instance_type="ml.g5.2xlarge",
    endpoint_wait_s=1800,
)
TODAY = date(2026, 1, 20)


def by_stage(cost: dict) -> dict:
    return {stage["stage"]: stage["usd"] for stage in cost["stages"]}


def test_each_stage_is_its_instances_times_its_longest_run():
    cost = estimate(RESOURCES, {}, TablePrices(TABLE), TABLE, TODAY)
    assert by_stage(cost) == {
        "preparation": 0.1,  # 0.5 h x 0.2
        "training": 42.0,  # 2 instances x 3 h x 7.0
        "evaluation endpoints": 1.5,  # (0.5 h timeout + 0.5 h evaluation) x 1.5
        "evaluation": 0.1,
    }
    assert cost["total_usd"] == 43.7
    assert cost["upper_bound"] is True
    assert cost["notes"] == []


@pytest.mark.parametrize(
    ("evaluation", "endpoints"),
    [
        ({}, 1),
        ({"compare_with": "none"}, 1),
        ({"compare_with": "base"}, 2),
        ({"compare_with": "champion"}, 2),
        ({"compare_with_base": True}, 2),
        ({"compare_with_base": False}, 1),
        ({"compare_with": ["base", "champion"]}, 3),
        ({"compare_with": ["champion"], "compare_with_base": True}, 3),
        ({"compare_with_base": True, "compare_with_champion": True}, 3),
        ({"compare_with_base": False, "compare_with_champion": True}, 2),
    ],
)
def test_a_compared_model_adds_an_endpoint_and_a_wait(evaluation, endpoints):
    assert temporary_endpoints(evaluation) == endpoints
    cost = estimate(RESOURCES, evaluation, TablePrices(TABLE), TABLE, TODAY)
    # Each endpoint: one 0.5 h timeout per endpoint waited for, then the 0.5 h evaluation.
    hours = endpoints * 0.5 + 0.5
    assert by_stage(cost)["evaluation endpoints"] == endpoints * hours * 1.5


def test_spot_is_priced_on_demand_and_says_the_bill_is_at_most_that():
    spot = RunResources(**{**RESOURCES.__dict__, "use_spot": True})
    cost = estimate(spot, {}, TablePrices(TABLE), TABLE, TODAY)
    assert by_stage(cost)["training"] == 42.0
    assert any("spot" in note and "at most" in note for note in cost["notes"])


def test_a_stale_table_is_noted_in_the_estimate():
    cost = estimate(RESOURCES, {}, TablePrices(TABLE), TABLE, date(2027, 1, 1))
    assert any("days old" in note for note in cost["notes"])


def test_the_estimate_names_its_source_and_the_summary_its_total():
    cost = estimate(RESOURCES, {}, TablePrices(TABLE, "offline"), TABLE, TODAY)
    assert cost["source"] == "price table costs/prices.json as of 2026-01-10 (offline)"
    assert summary(cost).startswith("at most USD 43.70 (preparation 0.10, training 42.00")


class PriceListClient:
    """GetProducts as AWS answers it: PriceList entries are JSON text."""

    def __init__(self, usd: str | None) -> None:
        self.usd, self.requests = usd, []

    def get_products(self, **request):
        self.requests.append(request)
        if self.usd is None:
            raise RuntimeError("AccessDeniedException")
        term = {"priceDimensions": {"x": {"unit": "Hrs", "pricePerUnit": {"USD": self.usd}}}}
        return {"PriceList": [json.dumps({"terms": {"OnDemand": {"t": term}}})]}


def test_the_price_list_api_is_used_when_it_answers():
    client = PriceListClient("2.5")
    prices = choose_prices(client, TABLE, [(REGION, "hosting", "ml.g5.2xlarge")])
    assert isinstance(prices, FixedPrices)
    assert prices.price(REGION, "hosting", "ml.g5.2xlarge") == 2.5
    assert "Price List API" in prices.describe()
    fields = {f["Field"]: f["Value"] for f in client.requests[0]["Filters"]}
    assert fields == {"regionCode": REGION, "instanceName": "ml.g5.2xlarge", "component": "Hosting"}


def test_the_table_answers_when_the_price_list_api_does_not_and_says_why():
    prices = choose_prices(PriceListClient(None), TABLE, [(REGION, "hosting", "ml.g5.2xlarge")])
    assert prices.price(REGION, "hosting", "ml.g5.2xlarge") == 1.5
    assert "AccessDeniedException" in prices.describe()
    assert "costs/prices.json" in choose_prices(None, TABLE, []).describe()


def test_run_resources_refuse_a_wrong_type():
    data = {**RESOURCES.__dict__, "training_instance_count": "2"}
    with pytest.raises(ValueError, match="training_instance_count must be a int"):
        RunResources.from_json(data)


@pytest.mark.parametrize("env_name", ["local", "dev", "prod"])
def test_an_endpoint_is_priced_for_its_whole_poll_schedule_not_just_the_timeout(env_name):
    from stacks.config import load_config
    from stacks.run_resources import run_resources
    from stacks.workflow.steps.endpoint_poll import poll_schedule

    evaluation = load_config().environments[env_name].evaluation
    timeout_s = evaluation.endpoint_timeout_minutes * 60
    wait_s = run_resources(load_config().environments[env_name]).endpoint_wait_s
    assert wait_s == sum(poll_schedule(timeout_s, evaluation.endpoint_poll_seconds)) >= timeout_s
