"""The endpoint configuration (instances, data capture) and the endpoint that runs it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.config_schema import EndpointConfig
from stacks.serving.guardrails import deployment_config
from stacks.storage import DATA_CAPTURE_PREFIX

VARIANT_NAME = "AllTraffic"
# Downloading a 7-8B model's safetensors from S3 takes minutes on a cold instance.
MODEL_DOWNLOAD_TIMEOUT_S = 1800


class ServingEndpoint(Construct):
    """One variant on ``config.instance_type``, capturing requests and responses to S3.

    Nothing here has a physical name: a new pin creates a new model and endpoint
    configuration beside the old ones, the endpoint moves to them by a blue/green update
    (``guardrails``), and CloudFormation deletes the old ones afterwards.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EndpointConfig,
        model: sagemaker.CfnModel,
        container_startup_timeout_s: int,
        capture_bucket: s3.IBucket,
        capture_key: kms.IKey,
        rollback_alarms: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=model.attr_model_name,
                    instance_type=config.instance_type,
                    initial_instance_count=config.min_instances,
                    container_startup_health_check_timeout_in_seconds=container_startup_timeout_s,
                    model_data_download_timeout_in_seconds=MODEL_DOWNLOAD_TIMEOUT_S,
                    # LLM requests vary from milliseconds to a minute: route to the instance
                    # with the fewest requests in flight, not round robin.
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                        routing_strategy="LEAST_OUTSTANDING_REQUESTS"
                    ),
                )
            ],
            data_capture_config=_data_capture(config, capture_bucket, capture_key),
            # No KmsKeyId for the instance volume: GPU instances with NVMe instance storage
            # (ml.g5, ml.p4d, ...) reject it; their instance storage is encrypted by hardware.
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.config.attr_endpoint_config_name,
            deployment_config=deployment_config(config, rollback_alarms),
            # Keep the instance count autoscaling has reached when the model changes, so a roll
            # under load starts the new fleet at the current size; data capture follows config.
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(
                    variant_property_type="DataCaptureConfig"
                )
            ],
        )

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.attr_endpoint_name


def _data_capture(
    config: EndpointConfig, bucket: s3.IBucket, key: kms.IKey
) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        enable_capture=config.data_capture_percent > 0,
        initial_sampling_percentage=config.data_capture_percent,
        destination_s3_uri=bucket.s3_url_for_object(DATA_CAPTURE_PREFIX),
        kms_key_id=key.key_arn,
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode)
            for mode in ("Input", "Output")
        ],
        capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            json_content_types=["application/json"]
        ),
    )
