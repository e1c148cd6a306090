"""Notifications, an alarm, an EventBridge rule and a dashboard for the training workflow."""

from __future__ import annotations

from aws_cdk import Duration
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

# Ends that never reach the state machine's own notifications (no state runs after them).
UNNOTIFIED_STATUSES = ["ABORTED", "TIMED_OUT"]


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
        # Alarms publish to the topic, so CloudWatch must use its key (the EventBridge target
        # grants EventBridge the same by itself).
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey"
        )


class WorkflowMonitoring(Construct):
    """An alarm on failed executions, a rule for stopped ones, and the dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failed_alarm = cw.Alarm(
            self,
            "FailedExecutions",
            alarm_description="A fine-tuning run failed; its notification says why",
            metric=state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.failed_alarm.add_alarm_action(cw_actions.SnsAction(topic))
        self.rule = events.Rule(
            self,
            "StoppedExecutions",
            description="Fine-tuning executions that ended without running their cleanup",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [state_machine.state_machine_arn],
                    "status": UNNOTIFIED_STATUSES,
                },
            ),
        )
        name = events.EventField.from_path("$.detail.name")
        status = events.EventField.from_path("$.detail.status")
        self.rule.add_target(
            targets.SnsTopic(
                topic,
                message=events.RuleTargetInput.from_text(
                    f"Fine-tuning execution {name} ended {status} without its cleanup. If it "
                    "got as far as deploying, delete the endpoint, endpoint config and model "
                    "named <run_name>-eval (docs/workflow.md, 'Stopping a run')."
                ),
            )
        )
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(*_execution_widgets(state_machine, self.failed_alarm))
        self.dashboard.add_widgets(*_stage_widgets(state_machine))
        self.dashboard.add_widgets(*_endpoint_widgets())


def _execution_widgets(state_machine: sfn.StateMachine, alarm: cw.Alarm) -> list[cw.IWidget]:
    hour = Duration.hours(1)
    return [
        cw.GraphWidget(
            title="Executions",
            width=12,
            left=[
                state_machine.metric_started(period=hour, statistic="Sum"),
                state_machine.metric_succeeded(period=hour, statistic="Sum"),
                state_machine.metric_failed(period=hour, statistic="Sum"),
                state_machine.metric_aborted(period=hour, statistic="Sum"),
                state_machine.metric_timed_out(period=hour, statistic="Sum"),
            ],
        ),
        cw.AlarmStatusWidget(title="Alarms", width=12, alarms=[alarm]),
    ]


def _integration_time(resource: str, label: str) -> cw.Metric:
    return cw.Metric(
        namespace="AWS/States",
        metric_name="ServiceIntegrationRunTime",
        dimensions_map={"ServiceIntegrationResourceArn": f"arn:aws:states:::{resource}"},
        statistic="Maximum",
        period=Duration.hours(1),
        label=label,
    )


def _stage_widgets(state_machine: sfn.StateMachine) -> list[cw.IWidget]:
    return [
        cw.GraphWidget(
            title="Stage durations (ms)",
            width=12,
            left=[
                _integration_time("sagemaker:createTrainingJob.sync", "Training job"),
                _integration_time("sagemaker:createProcessingJob.sync", "Processing jobs"),
            ],
        ),
        cw.GraphWidget(
            title="Execution time (ms)",
            width=12,
            left=[state_machine.metric_time(period=Duration.hours(1), statistic="Maximum")],
        ),
    ]


def _search(metric: str, statistic: str, label: str) -> cw.MathExpression:
    # Evaluation endpoints are named <run_name>-eval: a new name per run, so search for them.
    return cw.MathExpression(
        expression=(
            f"SEARCH('{{AWS/SageMaker,EndpointName,VariantName}} MetricName=\"{metric}\" eval',"
            f" '{statistic}', 300)"
        ),
        label=label,
        period=Duration.minutes(5),
    )


def _endpoint_widgets() -> list[cw.IWidget]:
    return [
        cw.GraphWidget(
            title="Evaluation endpoints: invocations",
            width=8,
            left=[_search("Invocations", "Sum", "Invocations")],
        ),
        cw.GraphWidget(
            title="Evaluation endpoints: model latency (µs)",
            width=8,
            left=[_search("ModelLatency", "p95", "p95 latency")],
        ),
        cw.GraphWidget(
            title="Evaluation endpoints: errors",
            width=8,
            left=[
                _search("Invocation4XXErrors", "Sum", "4xx"),
                _search("Invocation5XXErrors", "Sum", "5xx"),
            ],
        ),
    ]
