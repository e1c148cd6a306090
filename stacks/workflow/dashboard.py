"""The training workflow's dashboard: executions, alarms, stage durations, evaluation endpoints."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def workflow_dashboard(
    scope: Construct, state_machine: sfn.StateMachine, alarms: list[cw.Alarm]
) -> cw.Dashboard:
    """The dashboard ``Dashboard`` in ``scope``: the training state machine and ``alarms``."""
    dashboard = cw.Dashboard(scope, "Dashboard", default_interval=Duration.days(7))
    dashboard.add_widgets(*_execution_widgets(state_machine, alarms))
    dashboard.add_widgets(*_stage_widgets(state_machine))
    dashboard.add_widgets(*_endpoint_widgets())
    return dashboard


def _execution_widgets(state_machine: sfn.StateMachine, alarms: list[cw.Alarm]) -> list[cw.IWidget]:
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
        cw.AlarmStatusWidget(title="Alarms", width=12, alarms=alarms),
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
