"""Notifications, alarms, the stopped-run cleanup's trigger and the dashboard of the workflow."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.dashboard import workflow_dashboard

# Ends after which the stopped-run cleanup runs: a stop or a timeout runs no state of the
# execution, its cleanup included; FAILED is a safety net (a failure no Catch catches, such
# as States.Runtime or States.DataLimitExceeded, ends the execution at once), and a failed
# run whose own cleanup ran leaves the safety net nothing to delete and nothing to say.
CLEANED_UP_AFTER = ["ABORTED", "TIMED_OUT", "FAILED"]


class NotificationTopic(Construct):
    """The run notifications topic, encrypted with the project's key, TLS only."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, emails: tuple[str, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Topic", display_name="LLM fine-tuning runs", master_key=key, enforce_ssl=True
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        # Alarms publish to the topic, so CloudWatch must use its key: for this account's
        # alarms only (CloudWatch names the alarm and its account in the request).
        stack = Stack.of(self)
        alarms = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        cloudwatch = iam.ServicePrincipal(
            "cloudwatch.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        )
        key.grant(cloudwatch, "kms:Decrypt", "kms:GenerateDataKey")
        # enforce_ssl gives the topic a policy of its own, which replaces SNS's default one
        # (the account's alarms could publish under it): allow them again, this account's only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublish",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            )
        )


class WorkflowMonitoring(Construct):
    """Alarms on failed executions, the stopped-run cleanup's trigger, and the dashboard.

    ``stopped_run_cleanup`` is started for every training execution that ends ``ABORTED``,
    ``TIMED_OUT`` (no state of its own runs after that, its cleanup included) or ``FAILED`` (in
    case the failure skipped the cleanup); it reports to the topic what it deleted. Its
    failures, and EventBridge failing to start it, raise alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        stopped_run_cleanup: sfn.StateMachine,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        five_minutes = {"period": Duration.minutes(5), "statistic": "Sum"}
        self.failed_alarm = _alarm(
            self,
            "FailedExecutions",
            "A fine-tuning run failed; its notification says why",
            state_machine.metric_failed(**five_minutes),
            topic,
        )
        self.rule = events.Rule(
            self,
            "StoppedExecutions",
            description="Fine-tuning executions that ended stopped, timed out or failed: their "
            "cleanup may not have run",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [state_machine.state_machine_arn],
                    "status": CLEANED_UP_AFTER,
                },
            ),
        )
        self.rule.add_target(
            targets.SfnStateMachine(
                stopped_run_cleanup,
                input=events.RuleTargetInput.from_object(
                    {
                        "execution_name": events.EventField.from_path("$.detail.name"),
                        "execution_arn": events.EventField.from_path("$.detail.executionArn"),
                        "status": events.EventField.from_path("$.detail.status"),
                        # The execution's input as JSON text, as the event carries it.
                        "input": events.EventField.from_path("$.detail.input"),
                    }
                ),
            )
        )
        self.cleanup_alarms = [
            _alarm(
                self,
                "FailedStoppedRunCleanups",
                "The cleanup of a stopped fine-tuning run failed: an endpoint may still be "
                "running (docs/workflow.md, 'Stopping a run')",
                stopped_run_cleanup.metric_failed(**five_minutes),
                topic,
            ),
            _alarm(
                self,
                "UnstartedStoppedRunCleanups",
                "EventBridge could not start the cleanup of a stopped fine-tuning run: an "
                "endpoint may still be running (docs/workflow.md, 'Stopping a run')",
                cw.Metric(
                    namespace="AWS/Events",
                    metric_name="FailedInvocations",
                    dimensions_map={"RuleName": self.rule.rule_name},
                    **five_minutes,
                ),
                topic,
            ),
        ]
        self.dashboard = workflow_dashboard(
            self, state_machine, [self.failed_alarm, *self.cleanup_alarms]
        )


def _alarm(
    scope: Construct, construct_id: str, description: str, metric: cw.IMetric, topic: sns.ITopic
) -> cw.Alarm:
    """An alarm on any datapoint of ``metric`` (a count) >= 1, published to ``topic``."""
    alarm = cw.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(topic))
    return alarm
