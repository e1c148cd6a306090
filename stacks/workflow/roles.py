"""Least-privilege roles: SageMaker's execution role and the state machine's role.

Every statement names its actions one by one (no ``*`` in actions, no managed policies). Where
a resource ends in a wildcard, it is the per-run part of a name: runs are named at execution
time (``<run_name>-train``, ``runs/<run_name>/``), so the suffix or prefix is all that is known
at synth time.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.workflow.contract import contract

SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
SAGEMAKER_LOG_GROUPS = ("TrainingJobs", "ProcessingJobs", "Endpoints")
# The EventBridge rules Step Functions manages to follow `.sync` SageMaker jobs.
SYNC_RULES = (
    "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
)


def _statement(
    sid: str, actions: list[str], resources: list[str], **conditions: dict
) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid, actions=actions, resources=resources, conditions=conditions or None
    )


def sagemaker_arn(scope: Construct, resource: str, name: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<resource>/<name>``."""
    return Stack.of(scope).format_arn(service="sagemaker", resource=resource, resource_name=name)


def run_suffix_arn(scope: Construct, resource: str, name_key: str) -> str:
    """The ARN pattern of every run's resource named ``<run_name><suffix>``."""
    return sagemaker_arn(scope, resource, "*" + contract.NAME_SUFFIXES[name_key])


def runs_objects(artifacts_arn: str, pattern: str = "*") -> str:
    """Objects under the artifacts bucket's ``runs/`` prefix matching ``pattern``."""
    return f"{artifacts_arn}/{contract.RUNS_PREFIX}{pattern}"


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
        _statement(
            "ReadData", ["s3:GetObject"], [f"{data_arn}/*", runs_objects(artifacts_arn)]
        ),
        _statement("ListData", ["s3:ListBucket"], [data_arn]),
        _statement(
            "ListRuns",
            ["s3:ListBucket"],
            [artifacts_arn],
            StringLike={"s3:prefix": [f"{contract.RUNS_PREFIX}*"]},
        ),
        _statement(
            "WriteRuns",
            ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [runs_objects(artifacts_arn)],
        ),
        *code,
        _statement(
            "UseKey", ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key.key_arn]
        ),
        _statement(
            "EncryptVolumes",
            ["kms:CreateGrant"],
            [key.key_arn],
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
        _statement(
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
        _statement(
            "PutMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            StringLike={"cloudwatch:namespace": ["/aws/sagemaker/*"]},
        ),
        _statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            image_repositories,
        ),
        # GetAuthorizationToken has no resource type either.
        _statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        _statement(
            "InvokeEvaluationEndpoint",
            ["sagemaker:InvokeEndpoint"],
            [run_suffix_arn(scope, "endpoint", "endpoint")],
        ),
    ]


def vpc_statements(vpc_arn: str) -> list[iam.PolicyStatement]:
    """The network interfaces SageMaker attaches to jobs and endpoints in the VPC."""
    return [
        # Describe* calls have no resource type.
        _statement(
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
        _statement(
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


def state_machine_statements(
    scope: Construct,
    *,
    sagemaker_role: iam.IRole,
    validator_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    topic_arn: str,
    model_package_group: str,
) -> list[iam.PolicyStatement]:
    """Exactly the calls the state machine's tasks make."""
    stack = Stack.of(scope)

    def arn(resource: str, name_key: str) -> str:
        return run_suffix_arn(scope, resource, name_key)

    return [
        _statement("ValidateInput", ["lambda:InvokeFunction"], [validator_arn]),
        _statement(
            "RunProcessingJobs",
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:AddTags",
            ],
            [arn("processing-job", "prepare_job"), arn("processing-job", "evaluation_job")],
        ),
        _statement(
            "RunTrainingJob",
            [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ],
            [arn("training-job", "training_job")],
        ),
        _statement(
            "FollowJobs",
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [
                stack.format_arn(service="events", resource="rule", resource_name=rule)
                for rule in SYNC_RULES
            ],
        ),
        _statement(
            "ManageEvaluationModel",
            ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:AddTags"],
            [arn("model", "model")],
        ),
        _statement(
            "ManageEvaluationEndpointConfig",
            [
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
            ],
            [arn("endpoint-config", "endpoint_config")],
        ),
        _statement(
            "ManageEvaluationEndpoint",
            [
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:AddTags",
            ],
            [arn("endpoint", "endpoint")],
        ),
        _statement(
            "PassExecutionRole",
            ["iam:PassRole"],
            [sagemaker_role.role_arn],
            StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
        _statement(
            "ReadEvaluationReport",
            ["s3:GetObject"],
            [runs_objects(artifacts_arn, f"*/evaluation/{contract.REPORT_FILE}")],
        ),
        _statement(
            "RegisterModel",
            ["sagemaker:CreateModelPackage"],
            [
                sagemaker_arn(scope, "model-package-group", model_package_group),
                sagemaker_arn(scope, "model-package", f"{model_package_group}/*"),
            ],
        ),
        _statement("Notify", ["sns:Publish"], [topic_arn]),
        _statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]
