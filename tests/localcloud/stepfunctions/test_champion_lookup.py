"""The champion look-up, executed by the local cloud against its own model registry: what
``python -m cli demo --compare-with champion`` relies on for its second execution."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_stepfunctions as sfn
from botocore.client import BaseClient

from stacks.config import load_config
from stacks.workflow.steps.champion import ChampionLookup
from stacks.workflow.steps.common import StepContext
from tests.localcloud.helpers import run_execution
from tests.localcloud.stepfunctions.test_execution import deploy_machine

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.33.0-lmi15.0.0-cu128"


def _definition(group: str) -> dict:
    env = load_config().environment("local")
    config = dataclasses.replace(
        env, evaluation=dataclasses.replace(env.evaluation, champion="registry")
    )
    stack = Stack(App(), "Lookup")
    ctx = StepContext(config, None, "jobs", "endpoints", "key", None)  # type: ignore[arg-type]
    lookup = ChampionLookup(stack, ctx, model_package_group=group)
    lookup.then(
        deploy=sfn.Succeed(stack, "Deploy"),
        without=sfn.Succeed(stack, "Without"),
        failed=sfn.Fail(stack, "Unusable"),
    )
    graph = sfn.StateGraph(lookup.start, "champion").to_graph_json()
    return _in_partition(stack.resolve(graph))


def _in_partition(value: Any) -> Any:
    """The resolved graph with the tasks' ``arn:${AWS::Partition}:...`` joined for ``aws``."""
    if isinstance(value, list):
        return [_in_partition(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(
            "aws" if part == {"Ref": "AWS::Partition"} else part for part in parts
        )
    return {key: _in_partition(item) for key, item in value.items()}


def _register(sagemaker: BaseClient, group: str, model_data: str, status: str) -> str:
    container = {
        "Image": IMAGE,
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": model_data,
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
    }
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [container],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


RUN = {
    "evaluation": {"compare_with_champion": True},
    "evaluate": {"arguments": ["--no-champion"], "champion_arguments": ["--champion"]},
}


def test_the_newest_approved_package_is_the_champion(aws: Callable[[str], BaseClient]) -> None:
    group = f"champions-{uuid.uuid4().hex[:8]}"
    sagemaker = aws("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn = deploy_machine(aws, {"DefinitionString": json.dumps(_definition(group))})

    first = run_execution(aws("stepfunctions"), arn, {"run": RUN})
    assert first["status"] == "SUCCEEDED", first
    output = json.loads(first["output"])
    assert output["champion"] == {"why": f"{group} has no Approved model package yet"}
    assert output["run"]["evaluate"]["arguments"] == ["--no-champion"]

    _register(sagemaker, group, "s3://artifacts/models/runs/r1/", "Approved")
    newest = _register(sagemaker, group, "s3://artifacts/models/runs/r2/", "Approved")
    _register(sagemaker, group, "s3://artifacts/models/runs/r3/", "PendingManualApproval")
    second = run_execution(aws("stepfunctions"), arn, {"run": RUN})
    assert second["status"] == "SUCCEEDED", second
    output = json.loads(second["output"])
    assert output["champion"] == {
        "source": newest,
        "model_data": "s3://artifacts/models/runs/r2/",
    }
    assert output["run"]["evaluate"]["arguments"] == ["--champion"]
