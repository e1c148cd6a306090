"""Target-tracking autoscaling of the endpoint variant on invocations and on concurrency."""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from stacks.config_schema import EndpointConfig

# Scale out before the engine's batch is full and requests start to queue in the container.
CONCURRENCY_TARGET_FRACTION = 0.75
# A new GPU instance needs minutes to pull the image and load the model: scale out at most
# every 5 minutes, and scale in only after 15 quiet ones, so a burst does not flap the fleet.
SCALE_OUT_COOLDOWN_S = 300
SCALE_IN_COOLDOWN_S = 900


def concurrency_target(config: EndpointConfig) -> int:
    """Concurrent requests per instance to aim for: a share of what the engine batches."""
    return max(1, int(config.max_concurrency * CONCURRENCY_TARGET_FRACTION))


class EndpointAutoscaling(Construct):
    """Instance count between ``min_instances`` and ``max_instances``, tracking two metrics.

    Invocations per instance (``invocations_per_instance`` a minute) and concurrent requests
    per model copy (reported by SageMaker every 10 s): Application Auto Scaling scales out
    when either is above target and in only when both are below.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        config: EndpointConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        # L1 without RoleARN: Application Auto Scaling then uses its SageMaker service-linked
        # role. The L2 would create a role of its own with no permissions to scale with.
        self.target = appscaling.CfnScalableTarget(
            self,
            "Target",
            service_namespace="sagemaker",
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=config.min_instances,
            max_capacity=config.max_instances,
        )
        self._track(
            "Invocations", "SageMakerVariantInvocationsPerInstance", config.invocations_per_instance
        )
        self._track(
            "Concurrency",
            "SageMakerVariantConcurrentRequestsPerModelHighResolution",
            concurrency_target(config),
        )

    def _track(self, construct_id: str, metric: str, target: int) -> None:
        appscaling.CfnScalingPolicy(
            self,
            construct_id,
            policy_name=f"track-{construct_id.lower()}",
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.target.ref,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=target,
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type=metric
                ),
                scale_out_cooldown=SCALE_OUT_COOLDOWN_S,
                scale_in_cooldown=SCALE_IN_COOLDOWN_S,
            ),
        )
