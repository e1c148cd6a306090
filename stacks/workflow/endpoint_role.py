"""The read-only execution role of the temporary endpoints' models (evaluation, base, champion).

A model server runs code that comes with the model (``trust_remote_code``), so its role may read
what serving needs and write nothing to S3: the kept models under ``models/`` are what
registered model packages, and the staging and production endpoints, are served from. It can
neither call endpoints nor start jobs; the jobs run as ``sagemaker_role.py``'s role.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.roles import statement
from stacks.workflow.sagemaker_role import log_group_arns, pull_images, write_logs

ENDPOINT_NAME_SUFFIXES = tuple(
    contract.NAME_SUFFIXES[key] for key in ("endpoint", "base_endpoint", "champion_endpoint")
)


def endpoint_execution_statements(
    scope: Construct,
    *,
    data_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    image_repository: str,
) -> list[iam.PolicyStatement]:
    """What SageMaker does as the temporary endpoints' models: load a model, log, report metrics.

    Args:
        data_arn: the data bucket's ARN, where a base model may be (named import, see the stack).
        artifacts_arn: the artifacts bucket's ARN; only the runs' models are readable.
        key: the project key the buckets are encrypted with (decrypt only).
        image_repository: the ECR repository ARN of the serving image.
    """
    # SageMaker names an endpoint's log group after the endpoint: /aws/sagemaker/Endpoints/<name>.
    # Both forms, the group (CreateLogGroup) and its streams (":*").
    log_groups = tuple(
        f"/aws/sagemaker/Endpoints/*{suffix}{streams}"
        for suffix in ENDPOINT_NAME_SUFFIXES
        for streams in ("", ":*")
    )
    return [
        statement(
            "ReadModels",
            ["s3:GetObject"],
            [f"{data_arn}/*", f"{artifacts_arn}/{contract.MODEL_OBJECTS}"],
        ),
        # S3Prefix model data is listed before it is downloaded.
        statement("ListData", ["s3:ListBucket"], [data_arn]),
        statement(
            "ListModels",
            ["s3:ListBucket"],
            [artifacts_arn],
            StringLike={"s3:prefix": [contract.MODEL_OBJECTS]},
        ),
        # The endpoint configs name no volume key (KmsKeyId), so no kms:CreateGrant.
        statement("DecryptModels", ["kms:Decrypt", "kms:DescribeKey"], [key.key_arn]),
        write_logs("WriteEndpointLogs", log_group_arns(scope, log_groups)),
        # PutMetricData has no resource type; the namespace condition is the only scope.
        statement(
            "PutMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            StringEquals={"cloudwatch:namespace": ["/aws/sagemaker/Endpoints"]},
        ),
        *pull_images([image_repository]),
    ]
