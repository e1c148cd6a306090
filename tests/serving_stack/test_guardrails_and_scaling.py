"""Deployment guardrails, rollback alarms and autoscaling of the serving endpoint."""

from __future__ import annotations

import json

import pytest

ALARMS = {"server-errors", "model-latency"}


def _props(synth, stage: str, resource_type: str) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in synth.resources(stage, "Serving", resource_type).items()}


def _endpoint(synth, stage: str) -> tuple[str, dict]:
    ((logical_id, props),) = _props(synth, stage, "AWS::SageMaker::Endpoint").items()
    return logical_id, props


def test_prod_shifts_a_one_instance_canary_then_the_rest(pinned_pipeline):
    _, endpoint = _endpoint(pinned_pipeline, "Prod")
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 30 * 60,  # prod's bake_minutes
        },
        "TerminationWaitInSeconds": 30 * 60,
        "MaximumExecutionTimeoutInSeconds": 3600 + 2 * 30 * 60,
    }


def test_a_one_instance_endpoint_shifts_all_at_once_and_bakes(pinned_pipeline):
    """SageMaker's canary is at most half the fleet: one instance cannot have one."""
    _, endpoint = _endpoint(pinned_pipeline, "Staging")
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 600,
    }
    assert policy["TerminationWaitInSeconds"] == 600


@pytest.mark.parametrize("stage", ["Dev", "Staging", "Prod"])
def test_the_rollback_alarms_are_the_endpoints_own(pinned_pipeline, stage):
    endpoint_id, endpoint = _endpoint(pinned_pipeline, stage)
    rollback = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    names = {a["AlarmName"] for a in rollback}
    assert names == {f"{stage}-Serving-{purpose}" for purpose in ALARMS}
    alarms = _props(pinned_pipeline, stage, "AWS::CloudWatch::Alarm")
    assert {a["AlarmName"] for a in alarms.values()} == names
    for alarm in alarms.values():
        assert f'"{endpoint_id}", "EndpointName"' in json.dumps(alarm)
        assert '{"Name": "VariantName", "Value": "AllTraffic"}' in json.dumps(alarm)


def test_alarm_thresholds_and_notifications(pinned_pipeline):
    alarms = {
        a["AlarmName"]: a
        for a in _props(pinned_pipeline, "Prod", "AWS::CloudWatch::Alarm").values()
    }
    errors = alarms["Prod-Serving-server-errors"]
    assert errors["Threshold"] == 1 and errors["EvaluationPeriods"] == 2
    (expression,) = [m for m in errors["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "IF(invocations > 0, 100 * errors / invocations, 0)"
    used = {
        m["Id"]: m["MetricStat"]["Metric"]["MetricName"]
        for m in errors["Metrics"]
        if "MetricStat" in m
    }
    assert used == {"errors": "Invocation5XXErrors", "invocations": "Invocations"}
    latency = alarms["Prod-Serving-model-latency"]
    assert latency["MetricName"] == "ModelLatency" and latency["ExtendedStatistic"] == "p90"
    assert latency["Threshold"] == 30 * 1_000_000  # microseconds
    for alarm in alarms.values():
        topic = json.dumps(alarm["AlarmActions"])
        assert '"StackName": "Prod-Workflow"' in topic and "NotificationsTopic" in topic
        assert alarm["OKActions"] == alarm["AlarmActions"]


def test_the_serving_role_may_read_the_rollback_alarms(pinned_pipeline):
    (policy,) = _props(pinned_pipeline, "Prod", "AWS::IAM::Policy").values()
    (statement,) = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Action"] == "cloudwatch:DescribeAlarms"
    ]
    arns = json.dumps(statement["Resource"])
    for purpose in ALARMS:
        assert f":cloudwatch:us-east-1:444444444444:alarm:Prod-Serving-{purpose}" in arns


@pytest.mark.parametrize(
    ("stage", "low", "high", "invocations", "concurrency"),
    [("Dev", 1, 2, 200, 48), ("Staging", 1, 4, 200, 48), ("Prod", 2, 8, 200, 48)],
)
def test_autoscaling_tracks_invocations_and_concurrency(
    pinned_pipeline, stage, low, high, invocations, concurrency
):
    endpoint_id, _ = _endpoint(pinned_pipeline, stage)
    ((target_id, target),) = _props(
        pinned_pipeline, stage, "AWS::ApplicationAutoScaling::ScalableTarget"
    ).items()
    assert target["MinCapacity"] == low and target["MaxCapacity"] == high
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == {
        "Fn::Join": [
            "",
            ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/variant/AllTraffic"],
        ]
    }
    # No RoleARN: Application Auto Scaling's SageMaker service-linked role does the scaling.
    assert "RoleARN" not in target
    policies = _props(pinned_pipeline, stage, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracked = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["TargetTrackingScalingPolicyConfiguration"]
        for p in policies.values()
        if p["ScalingTargetId"] == {"Ref": target_id}
    }
    assert {k: v["TargetValue"] for k, v in tracked.items()} == {
        "SageMakerVariantInvocationsPerInstance": invocations,
        "SageMakerVariantConcurrentRequestsPerModelHighResolution": concurrency,
    }
    for configuration in tracked.values():
        assert configuration["ScaleOutCooldown"] == 300
        assert configuration["ScaleInCooldown"] == 900
