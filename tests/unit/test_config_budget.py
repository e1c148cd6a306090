"""An environment's monthly budget: the shipped ones load; a bad one is named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.config_schema import BudgetConfig

DEV_BUDGET = """    budget:
      monthly_usd: 500
      alert_percents: [50, 80, 100]
      forecast_percent: 100
"""


def _dev_budget(tmp_path: Path, new: str) -> Path:
    """The shipped file with dev's budget section replaced by ``new``."""
    text = DEFAULT_CONFIG_PATH.read_text()
    assert text.count(DEV_BUDGET) == 1
    path = tmp_path / "environments.yaml"
    path.write_text(text.replace(DEV_BUDGET, new))
    return path


def _line_of(path: Path, written: str) -> int:
    """The one line that reads ``written``."""
    lines = path.read_text().splitlines()
    (line,) = [i for i, text in enumerate(lines, 1) if text.strip() == written]
    return line


def test_every_environment_has_a_budget():
    environments = load_config().environments
    assert environments["dev"].budget == BudgetConfig(
        monthly_usd=500.0, alert_percents=(50, 80, 100), forecast_percent=100
    )
    for name in ("local", "staging", "prod"):
        assert environments[name].budget is not None, name
    assert environments["prod"].budget.monthly_usd > environments["staging"].budget.monthly_usd


def test_a_budget_is_optional(tmp_path):
    config = load_config(_dev_budget(tmp_path, ""))
    assert config.environment("dev").budget is None
    assert config.environment("staging").budget is not None


def test_the_alert_defaults_are_the_documented_ones(tmp_path):
    budget = load_config(_dev_budget(tmp_path, "    budget:\n      monthly_usd: 20\n"))
    assert budget.environment("dev").budget == BudgetConfig(
        monthly_usd=20.0, alert_percents=(50, 80, 100), forecast_percent=100
    )


def test_no_forecast_alert(tmp_path):
    new = DEV_BUDGET.replace("forecast_percent: 100", "forecast_percent: null")
    assert (
        load_config(_dev_budget(tmp_path, new)).environment("dev").budget.forecast_percent is None
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        ("monthly_usd: 500", "monthly_usd: 0", "monthly_usd", "must be above 0, got 0.0"),
        ("monthly_usd: 500", "monthly_usd: lots", "monthly_usd", "must be a number, got 'lots'"),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: [80, 50]",
            "alert_percents",
            "must rise without repeats, got [80, 50]",
        ),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: [50, 50]",
            "alert_percents",
            "must rise without repeats",
        ),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: []",
            "alert_percents",
            "must list at least one percentage",
        ),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: [50, 5000]",
            "alert_percents",
            "must be a percentage of monthly_usd between 1 and 1000, got 5000",
        ),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: 80",
            "alert_percents",
            "must be a list",
        ),
        (
            "forecast_percent: 100",
            "forecast_percent: 0",
            "forecast_percent",
            "must be a percentage of monthly_usd between 1 and 1000, got 0",
        ),
        (
            "alert_percents: [50, 80, 100]",
            "alert_percents: [20, 40, 60, 80, 100]",
            "alert_percents",
            "AWS Budgets sends at most 5 alerts per budget, forecast_percent included; got 6",
        ),
        (
            "monthly_usd: 500",
            "monthly: 500",
            "monthly",
            "unknown field (did you mean 'monthly_usd'?)",
        ),
    ],
    ids=[
        "zero",
        "not-a-number",
        "falling",
        "repeated",
        "none",
        "an-amount-as-percent",
        "not-a-list",
        "zero-forecast",
        "six-alerts",
        "misspelt",
    ],
)
def test_a_bad_budget_names_its_line_and_field(tmp_path, old, new, field, says):
    path = _dev_budget(tmp_path, DEV_BUDGET.replace(old, new))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = _line_of(path, new)
    assert f"{path}, line {line}: environments.dev.budget.{field}: {says}" in str(error.value)


def test_a_budget_that_is_no_mapping_is_named(tmp_path):
    path = _dev_budget(tmp_path, "    budget: 500\n")
    with pytest.raises(
        ConfigError, match=r"environments\.dev\.budget: must be a mapping of field: value"
    ):
        load_config(path)
