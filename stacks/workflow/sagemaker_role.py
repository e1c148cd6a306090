"""The execution role of the training and processing jobs, and what it shares with the
temporary endpoints' read-only role (``endpoint_role.py``): logs, images, network."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.roles import run_suffix_arn, runs_objects, statement

SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
JOB_LOG_GROUPS = ("/aws/sagemaker/TrainingJobs:*", "/aws/sagemaker/ProcessingJobs:*")


def sagemaker_execution_statements(
    scope: Construct,
    *,
    data_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    code: list[iam.PolicyStatement],
    image_repositories: list[str],
) -> list[iam.PolicyStatement]:
    """What the training and processing containers do with the jobs' execution role.

    The only role that writes under ``runs/``; the models of the temporary endpoints run as
    the read-only ``endpoint_role.py`` instead, so a model server cannot touch any run's files.
    ``data_arn`` and ``artifacts_arn`` are the buckets' ARNs (named imports, see the stack).
    """
    return [
        # Earlier runs' outputs and kept models may be read (a base model, a dataset split).
        statement(
            "ReadData",
            ["s3:GetObject"],
            [
                f"{data_arn}/*",
                runs_objects(artifacts_arn),
                f"{artifacts_arn}/{contract.MODEL_OBJECTS}",
            ],
        ),
        statement("ListData", ["s3:ListBucket"], [data_arn]),
        statement(
            "ListRuns",
            ["s3:ListBucket"],
            [artifacts_arn],
            StringLike={"s3:prefix": [f"{contract.RUNS_PREFIX}*", contract.MODEL_OBJECTS]},
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
        # The jobs' OutputDataConfig / ProcessingOutputConfig name this key (KmsKeyId); with a
        # key id, "the SageMaker execution role must include permissions to call kms:Encrypt"
        # (SageMaker API reference, OutputDataConfig.KmsKeyId).
        statement("EncryptJobOutputs", ["kms:Encrypt"], [key.key_arn]),
        statement(
            "EncryptVolumes",
            ["kms:CreateGrant"],
            [key.key_arn],
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
        write_logs("WriteLogs", log_group_arns(scope, JOB_LOG_GROUPS)),
        # PutMetricData has no resource type; the namespace condition is the only scope.
        statement(
            "PutMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            StringLike={"cloudwatch:namespace": ["/aws/sagemaker/*"]},
        ),
        *pull_images(image_repositories),
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
        # The champion's endpoint, when the evaluation compares with it.
        statement(
            "InvokeChampionEndpoint",
            ["sagemaker:InvokeEndpoint"],
            [run_suffix_arn(scope, "endpoint", "champion_endpoint")],
        ),
    ]


def log_group_arns(scope: Construct, names: tuple[str, ...]) -> list[str]:
    """The ARNs of log groups (or their streams, with ``:*``) named ``names``."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for name in names
    ]


def write_logs(sid: str, log_groups: list[str]) -> iam.PolicyStatement:
    """What SageMaker does, as the execution role, to send a container's output to CloudWatch."""
    return statement(
        sid,
        [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ],
        log_groups,
    )


def pull_images(image_repositories: list[str]) -> list[iam.PolicyStatement]:
    """Pulling the containers' images from ``image_repositories`` (ECR repository ARNs)."""
    return [
        statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            image_repositories,
        ),
        # GetAuthorizationToken has no resource type.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
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
