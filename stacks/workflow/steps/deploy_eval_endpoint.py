"""Stage 4: deploy the trained model on a temporary endpoint for evaluation.

CreateModel (the LMI/vLLM serving image on the training output) -> CreateEndpointConfig ->
CreateEndpoint, then the poll (``endpoint_poll.py``) until the endpoint is InService, has
Failed, or ``evaluation.endpoint_timeout_minutes`` has passed. Failed and timed-out endpoints
record ``$.error`` and go to the cleanup, which deletes them.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.serving.instances import gpus_per_instance
from stacks.workflow.images import serving_images
from stacks.workflow.steps.common import SAGEMAKER_CREATE, StepContext, run_tags, task
from stacks.workflow.steps.endpoint_poll import EndpointPoll

VARIANT = "AllTraffic"


def serving_container(ctx: StepContext, instance_type: str, model_data: dict) -> dict[str, Any]:
    """The LMI container serving the uncompressed model prefix on ``instance_type``."""
    environment = serving_images().serving_environment(
        max_model_len=ctx.config.endpoint.max_model_len,
        max_concurrency=ctx.config.endpoint.max_concurrency,
        tensor_parallel_degree=gpus_per_instance(instance_type),
    )
    return {
        "Image": ctx.images.serving,
        "Environment": environment,
        "ModelDataSource": {
            "S3DataSource": {**model_data, "S3DataType": "S3Prefix", "CompressionType": "None"}
        },
    }


class EvaluationEndpoint:
    """The states from CreateModel to the endpoint being InService (or not)."""

    def __init__(self, scope: Construct, ctx: StepContext) -> None:
        evaluation = ctx.config.evaluation
        model: dict[str, Any] = {
            "ModelName.$": "$.run.names.model",
            "ExecutionRoleArn": ctx.sagemaker_role_arn,
            "PrimaryContainer": serving_container(
                ctx, evaluation.instance_type, {"S3Uri.$": "$.training.model_data"}
            ),
            "EnableNetworkIsolation": ctx.config.network.network_isolation,
            "Tags": run_tags(),
        }
        if ctx.network is not None:
            model["VpcConfig"] = ctx.network.vpc_config()
        self.create_model = task(
            scope,
            "Create the evaluation model",
            "sagemaker:createModel",
            model,
            retry=SAGEMAKER_CREATE,
            result_path="$.deployed.model",
        )
        self.create_config = task(
            scope,
            "Create the evaluation endpoint config",
            "sagemaker:createEndpointConfig",
            {
                "EndpointConfigName.$": "$.run.names.endpoint_config",
                "ProductionVariants": [
                    {
                        "VariantName": VARIANT,
                        "ModelName.$": "$.run.names.model",
                        "InstanceType": evaluation.instance_type,
                        "InitialInstanceCount": 1,
                        "ContainerStartupHealthCheckTimeoutInSeconds": (
                            serving_images().MODEL_LOADING_TIMEOUT_S
                        ),
                    }
                ],
                "Tags": run_tags(),
            },
            retry=SAGEMAKER_CREATE,
            result_path="$.deployed.endpoint_config",
        )
        self.create_endpoint = task(
            scope,
            "Create the evaluation endpoint",
            "sagemaker:createEndpoint",
            {
                "EndpointName.$": "$.run.names.endpoint",
                "EndpointConfigName.$": "$.run.names.endpoint_config",
                "Tags": run_tags(),
            },
            retry=SAGEMAKER_CREATE,
            result_path="$.deployed.endpoint",
        )
        self.poll = EndpointPoll(scope, evaluation.endpoint_timeout_minutes * 60)
        self.create_model.next(self.create_config).next(self.create_endpoint).next(self.poll.start)
        self.start: sfn.IChainable = self.create_model
        self.tasks = [
            self.create_model,
            self.create_config,
            self.create_endpoint,
            self.poll.check,
            self.poll.record_failure,
        ]

    def then(self, in_service: sfn.IChainable, failed: sfn.IChainable) -> None:
        """Goes on to ``in_service`` once the endpoint is InService; else to ``failed``."""
        self.poll.then(in_service, failed)
