"""Stage 4: deploy the trained model on a temporary endpoint for evaluation.

CreateModel (the LMI/vLLM serving image on the training output) -> CreateEndpointConfig ->
CreateEndpoint, then DescribeEndpoint on a backoff schedule (30 s doubling to 5 min) until the
endpoint is InService, has Failed, or ``evaluation.endpoint_timeout_minutes`` has passed.
Failed and timed-out endpoints record ``$.error`` and go to the cleanup, which deletes them.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.serving.instances import gpus_per_instance
from stacks.workflow.images import serving_images
from stacks.workflow.steps.common import (
    ERROR_PATH,
    IDEMPOTENT,
    SAGEMAKER_CREATE,
    StepContext,
    run_tags,
    task,
)

VARIANT = "AllTraffic"
STARTING_STATUSES = ("Creating", "Updating", "SystemUpdating")


def poll_schedule(timeout_s: int, first_s: int = 30, longest_s: int = 300) -> list[int]:
    """Waits between DescribeEndpoint calls: doubling, capped, summing to at least the timeout."""
    waits: list[int] = []
    wait = first_s
    while sum(waits) < timeout_s:
        waits.append(min(wait, longest_s))
        wait *= 2
    return waits


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
        self.schedule = poll_schedule(evaluation.endpoint_timeout_minutes * 60)
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
        self._poll_states(scope)
        self.start = self.create_model
        self.tasks = [self.create_model, self.create_config, self.create_endpoint, self.check]

    def _poll_states(self, scope: Construct) -> None:
        wait = "$.endpoint_wait"
        self.start_waiting = sfn.Pass(
            scope,
            "Start waiting for the endpoint",
            parameters={"attempt": 0, "seconds": self.schedule[0], "schedule": self.schedule},
            result_path=wait,
        )
        self.wait = sfn.Wait(
            scope, "Wait for the endpoint", time=sfn.WaitTime.seconds_path(f"{wait}.seconds")
        )
        self.check = task(
            scope,
            "Check the endpoint status",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": "$.run.names.endpoint"},
            retry=IDEMPOTENT,
            result_selector={"status.$": "$.EndpointStatus", "description.$": "States.JsonToString($)"},  # noqa: E501
            result_path="$.endpoint",
        )
        next_attempt = f"States.MathAdd({wait}.attempt, 1)"
        self.wait_longer = sfn.Pass(
            scope,
            "Wait longer for the endpoint",
            parameters={
                "attempt.$": next_attempt,
                "seconds.$": f"States.ArrayGetItem({wait}.schedule, {next_attempt})",
                "schedule.$": f"{wait}.schedule",
            },
            result_path=wait,
        )
        self.record_failure = sfn.Pass(
            scope,
            "Record the endpoint failure",
            parameters={
                "Error": "EvaluationEndpointFailed",
                "Cause.$": "States.Format('The evaluation endpoint {} is {}. DescribeEndpoint: {}', "
                "$.run.names.endpoint, $.endpoint.status, $.endpoint.description)",
            },
            result_path=ERROR_PATH,
        )
        self.record_timeout = sfn.Pass(
            scope,
            "Record the endpoint timeout",
            parameters={
                "Error": "EvaluationEndpointTimeout",
                "Cause.$": "States.Format('The evaluation endpoint {} was still {} after "
                f"{sum(self.schedule)} seconds', $.run.names.endpoint, $.endpoint.status)",
            },
            result_path=ERROR_PATH,
        )
        starting = sfn.Condition.or_(
            *(sfn.Condition.string_equals("$.endpoint.status", s) for s in STARTING_STATUSES)
        )
        out_of_time = sfn.Condition.number_greater_than_equals(
            f"{wait}.attempt", len(self.schedule) - 1
        )
        self.in_service = sfn.Choice(scope, "Is the endpoint in service?")
        self.in_service.when(sfn.Condition.and_(starting, out_of_time), self.record_timeout)
        self.in_service.when(starting, self.wait_longer)
        self.create_model.next(self.create_config).next(self.create_endpoint).next(
            self.start_waiting
        ).next(self.wait).next(self.check).next(self.in_service)
        self.wait_longer.next(self.wait)

    def then(self, in_service: sfn.IChainable, failed: sfn.IChainable) -> None:
        """Continues with ``in_service`` when the endpoint is ready; else records why, then ``failed``."""  # noqa: E501
        self.in_service.when(sfn.Condition.string_equals("$.endpoint.status", "InService"), in_service)  # noqa: E501
        self.in_service.otherwise(self.record_failure)
        self.record_failure.next(failed)
        self.record_timeout.next(failed)
