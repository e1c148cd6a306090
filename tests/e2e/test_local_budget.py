"""The `local` environment's budget, deployed by the CDK CLI and listed by the Budgets API."""

from __future__ import annotations

from stacks.config import load_config


def test_the_deployed_budget_is_listed_with_its_alerts(deployed):
    config = load_config().environment("local")
    budgets = deployed.client("budgets")

    listed = {
        budget["BudgetName"]: budget
        for budget in budgets.describe_budgets(AccountId=config.account)["Budgets"]
    }

    budget = listed["llm-finetune-local"]
    assert float(budget["BudgetLimit"]["Amount"]) == config.budget.monthly_usd
    assert (budget["BudgetType"], budget["TimeUnit"]) == ("COST", "MONTHLY")
    notifications = budgets.describe_notifications_for_budget(
        AccountId=config.account, BudgetName="llm-finetune-local"
    )["Notifications"]
    assert sorted((n["NotificationType"], n["Threshold"]) for n in notifications) == sorted(
        [("ACTUAL", p) for p in config.budget.alert_percents]
        + [("FORECASTED", config.budget.forecast_percent)]
    )
