"""The execution role of the training and processing jobs and the evaluation endpoints."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.workflow.contract import contract
from stacks.workflow.roles import run_suffix_arn, runs_objects, statement

SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
SAGEMAKER_LOG_GROUPS = ("TrainingJobs", "ProcessingJobs", "Endpoints")


def sagemaker_execution_statements(
    scope: Construct,
    *,
    data_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    code: list[iam.PolicyStatement],
    image_repositories: list[str],
) -> list[iam.PolicyStatement]:
    """What the training, processing and serving containers do with the execution role.

    ``data_arn`` and ``artifacts_arn`` are the buckets' ARNs (named imports, see the stack).
    """
    stack = Stack.of(scope)
    log_groups = [
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/{group}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for group in SAGEMAKER_LOG_GROUPS
    ]
    return [
        statement("ReadData", ["s3:GetObject"], [f"{data_arn}/*", runs_objects(artifacts_arn)]),
        statement("ListData", ["s3:ListBucket"], [data_arn]),
        statement(
            "ListRuns",
            ["s3:ListBucket"],
            [artifacts_arn],
            StringLike={"s3:prefix": [f"{contract.RUNS_PREFIX}*"]},
        ),
        statement(
            "WriteRuns",
            ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [runs_objects(artifacts_arn)],
        ),
        *code,
        statement(
            "UseKey", ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key.key_arn]
        ),
        statement(
            "EncryptVolumes",
            ["kms:CreateGrant"],
            [key.key_arn],
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
        statement(
            "WriteLogs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            log_groups,
        ),
        # PutMetricData has no resource type; the namespace condition is the only scope.
        statement(
            "PutMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            StringLike={"cloudwatch:namespace": ["/aws/sagemaker/*"]},
        ),
        statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            image_repositories,
        ),
        # GetAuthorizationToken has no resource type either.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        statement(
            "InvokeEvaluationEndpoint",
            ["sagemaker:InvokeEndpoint"],
            [run_suffix_arn(scope, "endpoint", "endpoint")],
        ),
        # The base model's endpoint, when the evaluation compares with it.
        statement(
            "InvokeBaseEndpoint",
            ["sagemaker:InvokeEndpoint"],
            [run_suffix_arn(scope, "endpoint", "base_endpoint")],
        ),
    ]


def vpc_statements(vpc_arn: str) -> list[iam.PolicyStatement]:
    """The network interfaces SageMaker attaches to jobs and endpoints in the VPC."""
    return [
        # Describe* calls have no resource type.
        statement(
            "DescribeNetwork",
            [
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeDhcpOptions",
            ],
            ["*"],
        ),
        statement(
            "ManageInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            ["*"],
            ArnEquals={"ec2:Vpc": vpc_arn},
        ),
    ]
