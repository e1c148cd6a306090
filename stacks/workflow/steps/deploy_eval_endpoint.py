"""Stage 4: deploy the trained model (and, to compare, the base model and the champion) on
temporary endpoints.

Each endpoint is CreateModel (the LMI/vLLM serving image on an uncompressed S3 prefix) ->
CreateEndpointConfig -> CreateEndpoint. With ``evaluation.compare_with`` naming base, the base
model's endpoint is created right after the fine-tuned model's, so both start at once; then the
poll (``endpoint_poll.py``) waits for each in turn until it is InService, has Failed, or
``evaluation.endpoint_timeout_minutes`` has passed. Failed and timed-out endpoints record
``$.error`` and go to the cleanup, which deletes them all. With ``evaluation.compare_with:
champion`` the champion is looked up (``champion.py``) before any endpoint is created, so an
unusable champion or a failed look-up costs no GPU time, and, if there is one, deployed the same
way::

    Compare with the champion? --yes--> (find it)
    Create the evaluation model -> ... endpoint config -> ... endpoint
    Deploy the base model too? --yes--> Create the base model -> ... endpoint config -> ... endpoint
    Deploy the champion too? --yes--> Create the champion model -> ... endpoint
    (wait for the evaluation endpoint)
    Wait for the base endpoint too? --yes--> (wait for the base endpoint)
    Wait for the champion endpoint too? --yes--> (wait for the champion endpoint)
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import serving_images
from stacks.serving.instances import gpus_per_instance
from stacks.workflow.steps.champion import ChampionLookup
from stacks.workflow.steps.common import SAGEMAKER_CREATE, StepContext, run_tags, task
from stacks.workflow.steps.endpoint_poll import EndpointPoll
from stacks.workflow.steps.temporary_endpoints import (
    BASE,
    CHAMPION,
    EVALUATION,
    TemporaryEndpoint,
    champion_found,
    compare_with_base,
)

VARIANT = "AllTraffic"


def serving_container(ctx: StepContext, instance_type: str, model_data: dict) -> dict[str, Any]:
    """The LMI container serving the uncompressed model prefix on ``instance_type``."""
    environment = serving_images.serving_environment(
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


def _deployment(
    scope: Construct, ctx: StepContext, endpoint: TemporaryEndpoint
) -> list[sfn.CustomState]:
    """Create the <label> model -> ... endpoint config -> ... endpoint, chained."""
    instance_type = ctx.config.evaluation.instance_type
    model: dict[str, Any] = {
        "ModelName.$": endpoint.name("model"),
        # Read-only: a model server (and the model's own code) cannot write any run's files.
        "ExecutionRoleArn": ctx.endpoint_role_arn,
        "PrimaryContainer": serving_container(ctx, instance_type, {"S3Uri.$": endpoint.model_data}),
        "EnableNetworkIsolation": ctx.config.network.network_isolation,
        "Tags": run_tags(),
    }
    if ctx.network is not None:
        model["VpcConfig"] = ctx.network.vpc_config()
    variant = {
        "VariantName": VARIANT,
        "ModelName.$": endpoint.name("model"),
        "InstanceType": instance_type,
        "InitialInstanceCount": 1,
        "ContainerStartupHealthCheckTimeoutInSeconds": serving_images.MODEL_LOADING_TIMEOUT_S,
    }

    def create(what: str, key: str, action: str, request: dict[str, Any]) -> sfn.CustomState:
        return task(
            scope,
            f"Create the {endpoint.label} {what}",
            f"sagemaker:{action}",
            request,
            retry=SAGEMAKER_CREATE,
            result_path=f"$.deployed.{endpoint.key(key)}",
        )

    tasks = [
        create("model", "model", "createModel", model),
        create(
            "endpoint config",
            "endpoint_config",
            "createEndpointConfig",
            {
                "EndpointConfigName.$": endpoint.name("endpoint_config"),
                "ProductionVariants": [variant],
                "Tags": run_tags(),
            },
        ),
        create(
            "endpoint",
            "endpoint",
            "createEndpoint",
            {
                "EndpointName.$": endpoint.name("endpoint"),
                "EndpointConfigName.$": endpoint.name("endpoint_config"),
                "Tags": run_tags(),
            },
        ),
    ]
    tasks[0].next(tasks[1]).next(tasks[2])
    return tasks


class EvaluationEndpoints:
    """The states from the first CreateModel to every endpoint being InService (or not)."""

    def __init__(self, scope: Construct, ctx: StepContext, *, model_package_group: str) -> None:
        timeout_s = ctx.config.evaluation.endpoint_timeout_minutes * 60
        fine_tuned = _deployment(scope, ctx, EVALUATION)
        base = _deployment(scope, ctx, BASE)
        self.champion = _deployment(scope, ctx, CHAMPION)
        first_s = ctx.config.evaluation.endpoint_poll_seconds
        self.poll = EndpointPoll(scope, EVALUATION, timeout_s, first_s)
        self.base_poll = EndpointPoll(scope, BASE, timeout_s, first_s)
        self.champion_poll = EndpointPoll(scope, CHAMPION, timeout_s, first_s)
        self.lookup = ChampionLookup(scope, ctx, model_package_group=model_package_group)
        deploy_base = sfn.Choice(
            scope,
            "Deploy the base model too?",
            comment="evaluation.compare_with names base: another endpoint, for the same samples",
        )
        deploy_champion = sfn.Choice(scope, "Deploy the champion too?")
        self.wait_for_base = sfn.Choice(scope, "Wait for the base endpoint too?")
        self.wait_for_champion = sfn.Choice(scope, "Wait for the champion endpoint too?")
        self.fine_tuned = fine_tuned
        fine_tuned[-1].next(deploy_base)
        deploy_base.when(compare_with_base(), base[0]).otherwise(deploy_champion)
        base[-1].next(deploy_champion)
        deploy_champion.when(champion_found(), self.champion[0]).otherwise(self.poll.start)
        self.champion[-1].next(self.poll.start)
        self.start: sfn.IChainable = self.lookup.start
        polls = (self.poll, self.base_poll, self.champion_poll)
        self.tasks = [
            *fine_tuned,
            *base,
            *self.champion,
            *self.lookup.tasks,
            *(state for poll in polls for state in poll.tasks),
        ]

    def then(self, in_service: sfn.IChainable, failed: sfn.IChainable) -> None:
        """Goes on to ``in_service`` once every endpoint is InService; else to ``failed``."""
        self.lookup.then(deploy=self.fine_tuned[0], without=self.fine_tuned[0], failed=failed)
        self.poll.then(self.wait_for_base, failed)
        self.wait_for_base.when(compare_with_base(), self.base_poll.start).otherwise(
            self.wait_for_champion
        )
        self.base_poll.then(self.wait_for_champion, failed)
        self.wait_for_champion.when(champion_found(), self.champion_poll.start).otherwise(
            in_service
        )
        self.champion_poll.then(in_service, failed)
