"""The cost after a run, from Describe* answers shaped as boto3 returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from costs.actual import computed_cost, endpoint_cost, processing_cost, training_cost
from costs.price_list import TablePrices
from costs.price_table import PriceTable

REGION = "us-east-1"
TABLE = PriceTable.from_json(
    {
        "as_of": "2026-01-10",
        "source": "AWS Price List API (test)",
        "regions": {
            REGION: {
                "training": {"ml.g5.2xlarge": 1.2},
                "processing": {"ml.m5.xlarge": 0.2},
                "hosting": {"ml.g5.xlarge": 1.8},
            }
        },
    }
)
PRICES = TablePrices(TABLE)
T0 = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)


def described_training(billable: int, trained: int, spot: bool, count: int = 1) -> dict:
    return {
        "TrainingJobName": "run-train",
        "ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": count},
        "EnableManagedSpotTraining": spot,
        "TrainingTimeInSeconds": trained,
        "BillableTimeInSeconds": billable,
        "TrainingStartTime": T0,
        "TrainingEndTime": T0 + timedelta(seconds=trained),
    }


def test_training_is_billable_seconds_times_instances():
    line = training_cost(described_training(3000, 3000, False, count=2), PRICES, REGION)
    assert line["usd"] == 2.0  # 2 x 3000 s x 1.2 / 3600
    assert "spot_saving_percent" not in line


def test_spot_training_shows_its_saving_against_the_training_time():
    line = training_cost(described_training(1200, 3600, True), PRICES, REGION)
    assert line["usd"] == 0.4
    assert line["spot_saving_percent"] == 66.7
    assert (line["billable_seconds"], line["training_seconds"]) == (1200, 3600)


def test_a_processing_job_is_its_start_to_end_time():
    described = {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            }
        },
        "ProcessingStartTime": T0,
        "ProcessingEndTime": T0 + timedelta(minutes=90),
    }
    assert processing_cost("evaluation", described, PRICES, REGION)["usd"] == 0.3


def test_a_processing_job_that_never_started_costs_nothing():
    described = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}
        }
    }
    assert processing_cost("preparation", described, PRICES, REGION) is None


def test_an_endpoint_is_its_creation_to_deletion_time_from_step_functions_text():
    # Step Functions passes DescribeEndpoint's CreationTime on as ISO 8601 text.
    line = endpoint_cost(
        "evaluation endpoint", "ml.g5.xlarge", "2026-01-12T10:00:00Z",
        "2026-01-12T10:20:00.000Z", PRICES, REGION,
    )  # fmt: skip
    assert line["seconds"] == 1200
    assert line["usd"] == 0.6


def test_the_total_adds_the_stages_and_notes_what_did_not_run():
    training = training_cost(described_training(3600, 3600, False), PRICES, REGION)
    cost = computed_cost([training, None], ["evaluation"], PRICES, REGION, local=False)
    assert cost["total_usd"] == 1.2
    assert cost["kind"] == "computed" and cost["upper_bound"] is False
    assert cost["notes"] == ["evaluation: not run, nothing billed"]


def test_a_local_cloud_cost_is_marked_as_an_estimate():
    cost = computed_cost([], [], PRICES, REGION, local=True)
    assert cost["kind"] == "local estimate"
    assert any("nothing was billed" in note for note in cost["notes"])
