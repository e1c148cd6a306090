"""The endpoint's alarms: they roll a deployment back, and they tell the team."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config_schema import EndpointConfig

# More than 1% of requests failing with a server error, two minutes running.
ERROR_RATE_PERCENT = 1
_PURPOSES = ("server-errors", "model-latency")


def alarm_names(scope: Construct) -> list[str]:
    """The alarms' names, known before the alarms exist.

    The endpoint names the alarms that roll it back and the alarms name the endpoint they
    watch; fixed alarm names (unique per stack) break that cycle. Alarms are never replaced
    when the pinned model changes, so the names block nothing.
    """
    stack_name = Stack.of(scope).stack_name
    return [f"{stack_name}-{purpose}" for purpose in _PURPOSES]


def alarm_arns(scope: Construct) -> list[str]:
    """The alarms' ARNs, from their names (no reference to the alarms, so no cycle)."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for name in alarm_names(scope)
    ]


class EndpointAlarms(Construct):
    """Server error rate and p90 model latency of one endpoint variant.

    SageMaker watches both during a blue/green deployment and rolls back if either fires;
    both also notify ``topic`` when they fire and when they clear.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        config: EndpointConfig,
        topic: sns.ITopic | None,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=Duration.minutes(1),
            )

        error_rate = cloudwatch.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={
                "errors": metric("Invocation5XXErrors", "Sum"),
                "invocations": metric("Invocations", "Sum"),
            },
            label="Server errors (% of invocations)",
            period=Duration.minutes(1),
        )
        errors_name, latency_name = alarm_names(self)
        self.server_errors = cloudwatch.Alarm(
            self,
            "ServerErrors",
            alarm_name=errors_name,
            alarm_description=f"More than {ERROR_RATE_PERCENT}% of requests fail with a 5xx",
            metric=error_rate,
            threshold=ERROR_RATE_PERCENT,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.model_latency = cloudwatch.Alarm(
            self,
            "ModelLatency",
            alarm_name=latency_name,
            alarm_description=(
                f"p90 model latency above {config.latency_alarm_seconds} s for 3 minutes"
            ),
            # SageMaker reports ModelLatency in microseconds.
            metric=metric("ModelLatency", "p90"),
            threshold=config.latency_alarm_seconds * 1_000_000,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if topic is not None:
            for alarm in (self.server_errors, self.model_latency):
                alarm.add_alarm_action(actions.SnsAction(topic))
                alarm.add_ok_action(actions.SnsAction(topic))
