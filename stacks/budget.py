"""The environment's monthly cost budget, alerting on the run notifications topic.

AWS Budgets counts the cost of the account's resources tagged ``project=llm-finetune``: the
stage tags every resource it creates, and every job and endpoint a run creates carries the tag
(``steps/common.py``, ``run_tags``). Not ``environment`` as well: a run's jobs and endpoints, the
GPU bill, do not carry it, and each environment has an account of its own, whose budgets count
that account's costs. A user-defined tag filters costs only
once it is activated as a cost allocation tag, by the organization's management account (or a
standalone account) in the Billing console
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/custom-tags.html):
docs/configuration.md says so.

Budgets publishes to the topic as ``budgets.amazonaws.com``, which the topic's policy must allow
for this account's budgets ("Creating an Amazon SNS topic for budget notifications",
https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html); the
topic is encrypted with the project's key, so the key's policy must let the same principal use
it, as for any AWS service publishing to an encrypted topic
(https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IDependable

from stacks.config_schema import PROJECT, PROJECT_TAG, BudgetConfig

BUDGETS = "budgets.amazonaws.com"
# FilterExpression and Metrics, which AWS recommends over the older CostFilters and CostTypes; it
# takes one pair or the other
# (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html).
METRIC = "UnblendedCost"


class MonthlyBudget(Construct):
    """A COST budget per calendar month, with alerts at the configured percentages.

    ``budget_name`` is ``llm-finetune-<environment>``, the name its alerts and the console show.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BudgetConfig,
        environment: str,
        topic: sns.ITopic,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.budget_name = f"{PROJECT}-{environment}"
        topic_policy = self._allow_budgets(topic, key)
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=self.budget_name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=config.monthly_usd, unit="USD"),
                filter_expression=budgets.CfnBudget.ExpressionProperty(
                    tags=budgets.CfnBudget.TagValuesProperty(
                        key=PROJECT_TAG, values=[PROJECT], match_options=["EQUALS"]
                    )
                ),
                metrics=[METRIC],
            ),
            notifications_with_subscribers=[
                _alert("ACTUAL", percent, topic) for percent in config.alert_percents
            ]
            + (
                [_alert("FORECASTED", config.forecast_percent, topic)]
                if config.forecast_percent is not None
                else []
            ),
        )
        # Alerts need the topic's policy: the budget comes after it.
        if topic_policy is not None:
            self.budget.node.add_dependency(topic_policy)

    def _allow_budgets(self, topic: sns.ITopic, key: kms.IKey) -> IDependable | None:
        """Lets this account's budgets publish to ``topic`` and use its ``key``; returns the
        topic's policy."""
        stack = Stack.of(self)
        source = iam.ServicePrincipal(
            BUDGETS,
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                # Budget ARNs have no region: arn:aws:budgets::ACCOUNT:budget/NAME.
                "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:budgets::{stack.account}:*"},
            },
        )
        added = topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublish",
                principals=[source],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
            )
        )
        key.grant(source, "kms:Decrypt", "kms:GenerateDataKey")
        return added.policy_dependable


def _alert(
    kind: str, percent: int, topic: sns.ITopic
) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
    """An alert to ``topic`` when the month's ``kind`` (ACTUAL or FORECASTED) cost passes
    ``percent`` of the budget."""
    return budgets.CfnBudget.NotificationWithSubscribersProperty(
        notification=budgets.CfnBudget.NotificationProperty(
            notification_type=kind,
            comparison_operator="GREATER_THAN",
            threshold=percent,
            threshold_type="PERCENTAGE",
        ),
        subscribers=[
            budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)
        ],
    )
