"""Each environment's monthly budget: its amount, filter and alerts, and who may deliver them."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from stacks.budget import MonthlyBudget
from stacks.config import load_config
from stacks.config_schema import BudgetConfig
from stacks.stage import FineTuningStage
from stacks.workflow.steps.common import run_tags
from tests.infra.templates import resources

ENVIRONMENTS = ("local", "dev", "staging", "prod")


def _budget(template: dict) -> tuple[str, dict]:
    ((logical_id, budget),) = resources(template, "AWS::Budgets::Budget").items()
    return logical_id, budget


def _topic_id(template: dict) -> str:
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    return topic_id


def _statements_for_budgets(policy: dict) -> list[dict]:
    return [
        statement
        for statement in policy["Statement"]
        if statement.get("Principal") == {"Service": "budgets.amazonaws.com"}
    ]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_budget_has_the_configured_amount_and_alerts(synth_env, env_name):
    config = load_config().environment(env_name).budget
    template = synth_env(env_name).templates["Workflow"]
    _, budget = _budget(template)
    props = budget["Properties"]

    assert props["Budget"]["BudgetLimit"] == {"Amount": config.monthly_usd, "Unit": "USD"}
    assert (props["Budget"]["BudgetType"], props["Budget"]["TimeUnit"]) == ("COST", "MONTHLY")
    alerts = [
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in props["NotificationsWithSubscribers"]
    ]
    assert alerts == [("ACTUAL", p) for p in config.alert_percents] + [
        ("FORECASTED", config.forecast_percent)
    ]
    for notification in props["NotificationsWithSubscribers"]:
        assert notification["Notification"]["ComparisonOperator"] == "GREATER_THAN"
        assert notification["Notification"]["ThresholdType"] == "PERCENTAGE"
        assert notification["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": {"Ref": _topic_id(template)}}
        ]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_budget_counts_the_projects_tagged_costs(synth_env, env_name):
    _, budget = _budget(synth_env(env_name).templates["Workflow"])
    data = budget["Properties"]["Budget"]

    assert data["BudgetName"] == f"llm-finetune-{env_name}"
    assert data["Metrics"] == ["UnblendedCost"]
    assert "CostFilters" not in data and "CostTypes" not in data
    assert data["FilterExpression"] == {
        "Tags": {"Key": "project", "Values": ["llm-finetune"], "MatchOptions": ["EQUALS"]}
    }
    # The GPU bill: every job and endpoint a run creates carries the tag the budget counts.
    assert {"Key": "project", "Value": "llm-finetune"} in run_tags()


@pytest.mark.parametrize("env_name", ("dev", "prod"))
def test_the_budgets_of_this_account_may_publish_to_the_topic(synth_env, env_name):
    synth = synth_env(env_name)
    template = synth.templates["Workflow"]
    account = load_config().environment(env_name).account
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    (statement,) = _statements_for_budgets(policy["Properties"]["PolicyDocument"])

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": _topic_id(template)}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{account}:*"},
    }
    budget_id, budget = _budget(template)
    (policy_id,) = resources(template, "AWS::SNS::TopicPolicy")
    assert policy_id in budget["DependsOn"], budget_id


@pytest.mark.parametrize("env_name", ("dev", "prod"))
def test_the_budgets_of_this_account_may_use_the_topic_key(synth_env, env_name):
    account = load_config().environment(env_name).account
    (key,) = resources(synth_env(env_name).templates["Storage"], "AWS::KMS::Key").values()
    (statement,) = _statements_for_budgets(key["Properties"]["KeyPolicy"])

    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{account}:*"},
    }


def test_without_a_forecast_percent_every_alert_is_on_actual_cost():
    stack = Stack(App(), "Budgeted")
    key = kms.Key(stack, "Key")
    topic = sns.Topic(stack, "Topic", master_key=key)
    MonthlyBudget(
        stack,
        "Budget",
        config=BudgetConfig(monthly_usd=12.5, alert_percents=(90,), forecast_percent=None),
        environment="dev",
        topic=topic,
        key=key,
    )

    (budget,) = resources(Template.from_stack(stack).to_json(), "AWS::Budgets::Budget").values()
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    assert [n["Notification"]["NotificationType"] for n in notifications] == ["ACTUAL"]
    assert budget["Properties"]["Budget"]["BudgetLimit"] == {"Amount": 12.5, "Unit": "USD"}


def test_an_environment_without_a_budget_gets_none_and_grants_budgets_nothing(tmp_path):
    config = dataclasses.replace(load_config().environment("local"), budget=None)
    stage = FineTuningStage(App(outdir=str(tmp_path)), "Local", config=config)

    workflow = Template.from_stack(stage.workflow).to_json()
    assert resources(workflow, "AWS::Budgets::Budget") == {}
    (policy,) = resources(workflow, "AWS::SNS::TopicPolicy").values()
    assert _statements_for_budgets(policy["Properties"]["PolicyDocument"]) == []
    (key,) = resources(Template.from_stack(stage.storage).to_json(), "AWS::KMS::Key").values()
    assert _statements_for_budgets(key["Properties"]["KeyPolicy"]) == []
