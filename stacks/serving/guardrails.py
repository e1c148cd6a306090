"""Deployment guardrails: how a new pin reaches the endpoint's traffic, and how it rolls back."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_sagemaker as sagemaker

from stacks.config_schema import EndpointConfig

# Provisioning the new fleet (instances, image pull, model download and load) counts against
# the deployment's time limit; an 8B model on ml.g5 takes 10-15 minutes, so allow an hour.
PROVISIONING_ALLOWANCE_S = 3600
MAX_EXECUTION_TIMEOUT_S = 14400  # SageMaker's upper bound


def traffic_routing(config: EndpointConfig) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
    """Canary with one instance when the fleet has two or more; otherwise all at once.

    SageMaker's canary may be at most half the fleet, so a one-instance endpoint cannot have
    one; it still gets a blue/green deployment whose final bake watches the same alarms.
    """
    bake_s = config.bake_minutes * 60
    if config.min_instances >= 2:
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type="CANARY",
            canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=1),
            wait_interval_in_seconds=bake_s,
        )
    return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type="ALL_AT_ONCE", wait_interval_in_seconds=bake_s
    )


def deployment_config(
    config: EndpointConfig, rollback_alarms: Sequence[str]
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """Blue/green with a bake after each traffic shift; any of ``rollback_alarms`` rolls back.

    The old fleet keeps serving until the new one has taken all traffic and baked for
    ``bake_minutes`` without an alarm, so changing the pin causes no downtime.
    """
    bake_s = config.bake_minutes * 60
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=traffic_routing(config),
            termination_wait_in_seconds=bake_s,
            maximum_execution_timeout_in_seconds=min(
                MAX_EXECUTION_TIMEOUT_S, PROVISIONING_ALLOWANCE_S + 2 * bake_s
            ),
        ),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[
                sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in rollback_alarms
            ]
        ),
    )
