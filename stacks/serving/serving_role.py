"""The role SageMaker assumes to run the serving container."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config_schema import EnvironmentConfig
from stacks.serving.promotion import serving_role_name
from stacks.serving.wildcards import acknowledge_wildcard
from stacks.storage import DATA_CAPTURE_PREFIX
from stacks.workflow.sagemaker_role import vpc_statements


def serving_role(scope: Construct, construct_id: str, config: EnvironmentConfig) -> iam.Role:
    """The serving role, named from config so that other accounts can grant it model reads."""
    return iam.Role(
        scope,
        construct_id,
        role_name=serving_role_name(config),
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description="Runs the serving endpoint's container: pulls the image, reads the model",
    )


def grant_runtime(
    role: iam.Role,
    *,
    image_repository_arn: str,
    artifacts_arn: str,
    capture_key: kms.IKey,
    rollback_alarm_arns: Sequence[str],
    vpc_arn: str | None = None,
) -> None:
    """What a running endpoint needs besides its model: image, logs, metrics, data capture,
    and in VPC mode the network interfaces SageMaker attaches to its instances.

    Args:
        artifacts_arn: the artifacts bucket's ARN, as a named import (see ``ServingStack``).
        vpc_arn: the VPC the endpoint runs in (``network.vpc``), or None.
    """
    stack = Stack.of(role)
    # The endpoint's log group is named after the endpoint, whose name CloudFormation makes
    # up after this policy has to exist; "*" also covers the group's streams.
    endpoint_logs = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws/sagemaker/Endpoints/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    captures = f"{artifacts_arn}/{DATA_CAPTURE_PREFIX}/*"
    statements = [
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=[image_repository_arn],
        ),
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[endpoint_logs],
        ),
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        ),
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[captures]),
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[capture_key.key_arn]
        ),
        # Deployment guardrails read the rollback alarms as the endpoint's execution role.
        iam.PolicyStatement(
            actions=["cloudwatch:DescribeAlarms"], resources=[*rollback_alarm_arns]
        ),
    ]
    unscoped = (
        "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
        "permissions; PutMetricData is held to the /aws/sagemaker/Endpoints namespace."
    )
    if vpc_arn is not None:
        statements += vpc_statements(vpc_arn)
        unscoped += (
            " EC2 Describe* actions have no resource types, and SageMaker creates the "
            "endpoint's network interfaces with generated ids; the ec2:Vpc condition holds "
            "them to the project's VPC."
        )
    for statement in statements:
        role.add_to_policy(statement)
    acknowledge_wildcard(role, "*", unscoped)
    acknowledge_wildcard(
        role,
        endpoint_logs,
        "The endpoint's log group is named after the endpoint, a name CloudFormation "
        "generates after this policy must exist; the prefix is SageMaker's for endpoints.",
    )
    acknowledge_wildcard(
        role,
        captures,
        "Data capture writes files with generated names under the data-capture/ prefix of "
        "the artifacts bucket; nothing else in the bucket is writable.",
    )
