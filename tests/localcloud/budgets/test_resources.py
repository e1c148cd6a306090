"""Budgets deployed through the local cloud's CloudFormation, listed by the Budgets API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient

from tests.localcloud.helpers import create_stack

ACCOUNT = "123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def alert(kind: str, percent: int) -> dict[str, Any]:
    return {
        "Notification": {
            "NotificationType": kind,
            "ComparisonOperator": "GREATER_THAN",
            "Threshold": percent,
            "ThresholdType": "PERCENTAGE",
        },
        "Subscribers": [{"SubscriptionType": "SNS", "Address": {"Ref": "Topic"}}],
    }


def budget_template(name: str | None, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """A topic and a monthly cost budget of 500 USD over two tags, alerting on the topic."""
    budget: dict[str, Any] = {
        "BudgetType": "COST",
        "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": 500, "Unit": "USD"},
        "FilterExpression": {
            "And": [
                {
                    "Tags": {
                        "Key": "project",
                        "Values": ["llm-finetune"],
                        "MatchOptions": ["EQUALS"],
                    }
                },
                {"Tags": {"Key": "environment", "Values": ["local"], "MatchOptions": ["EQUALS"]}},
            ]
        },
        "Metrics": ["UnblendedCost"],
    }
    if name is not None:
        budget["BudgetName"] = name
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Budget": {
                "Type": "AWS::Budgets::Budget",
                "Properties": {
                    "Budget": budget,
                    "NotificationsWithSubscribers": alerts,
                    # CDK tags the budget with the stage's tags.
                    "ResourceTags": [{"Key": "project", "Value": "llm-finetune"}],
                },
            },
        }
    }


def reasons(cfn: BaseClient, stack: str) -> str:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return " ".join(event.get("ResourceStatusReason", "") for event in events)


def listed(aws: Callable[[str], BaseClient]) -> dict[str, dict]:
    budgets = aws("budgets").describe_budgets(AccountId=ACCOUNT)["Budgets"]
    return {budget["BudgetName"]: budget for budget in budgets}


def test_a_deployed_budget_is_listed_with_its_alerts(aws: Callable[[str], BaseClient]) -> None:
    cfn, stack, name = aws("cloudformation"), unique("Budget"), unique("llm-finetune")
    alerts = [alert("ACTUAL", 50), alert("ACTUAL", 100), alert("FORECASTED", 100)]

    created = create_stack(cfn, stack, budget_template(name, alerts))

    assert created["StackStatus"] == "CREATE_COMPLETE", reasons(cfn, stack)
    budget = listed(aws)[name]
    assert budget["BudgetLimit"] == {"Amount": "500", "Unit": "USD"}
    assert (budget["BudgetType"], budget["TimeUnit"]) == ("COST", "MONTHLY")
    assert budget["FilterExpression"]["And"][1]["Tags"]["Values"] == ["local"]
    notifications = aws("budgets").describe_notifications_for_budget(
        AccountId=ACCOUNT, BudgetName=name
    )["Notifications"]
    assert [(n["NotificationType"], n["Threshold"]) for n in notifications] == [
        ("ACTUAL", 50),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    ]
    resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Budget")
    assert resource["StackResourceDetail"]["PhysicalResourceId"] == name


def test_a_deleted_stack_deletes_its_budget(aws: Callable[[str], BaseClient]) -> None:
    cfn, stack, name = aws("cloudformation"), unique("Budget"), unique("gone")
    create_stack(cfn, stack, budget_template(name, [alert("ACTUAL", 80)]))
    assert name in listed(aws)

    cfn.delete_stack(StackName=stack)

    assert name not in listed(aws)


def test_a_budget_without_a_name_gets_one(aws: Callable[[str], BaseClient]) -> None:
    cfn, stack = aws("cloudformation"), unique("Unnamed")
    created = create_stack(cfn, stack, budget_template(None, [alert("ACTUAL", 80)]))

    assert created["StackStatus"] == "CREATE_COMPLETE", reasons(cfn, stack)
    resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Budget")
    assert resource["StackResourceDetail"]["PhysicalResourceId"] in listed(aws)


def test_more_than_five_alerts_are_refused(aws: Callable[[str], BaseClient]) -> None:
    cfn, stack, name = aws("cloudformation"), unique("Many"), unique("many")
    alerts = [alert("ACTUAL", percent) for percent in (10, 20, 30, 40, 50, 60)]

    created = create_stack(cfn, stack, budget_template(name, alerts))

    assert created["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "A budget can have up to 5 notifications, got 6" in reasons(cfn, stack)
    assert name not in listed(aws)


def test_a_request_budgets_refuses_fails_the_stack(aws: Callable[[str], BaseClient]) -> None:
    cfn, stack = aws("cloudformation"), unique("Refused")
    bad = alert("ACTUAL", 80)
    bad["Notification"]["NotificationType"] = "ACTUALLY"

    created = create_stack(cfn, stack, budget_template("a:b", [bad]))

    assert created["StackStatus"] == "ROLLBACK_COMPLETE"
    why = reasons(cfn, stack)
    assert "at 'budget.budgetName' failed to satisfy constraint" in why
    assert "Member must satisfy enum value set: [ACTUAL, FORECASTED]" in why
