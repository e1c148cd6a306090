"""The policies of a cross-account model read, on both sides (see ``promotion``).

- In the account that holds the model (the source), the artifacts bucket and the key grant
  read access to one role per reader: that environment's serving role, by ARN condition, on
  the kept models of the artifact layout (``models/*``) only.
- The source's model registry group lets the reading accounts describe its model packages,
  which creating a model from a package of another account needs.
- In the reading account, the serving role may read those directories in the source account
  (``aws:ResourceAccount``) and decrypt with that account's keys through S3 only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Arn, ArnComponents, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from contracts import workflow as contract
from stacks.config_schema import EnvironmentConfig
from stacks.serving.promotion import role_arn, serving_role_name

# The artifact layout (README "Contracts"): the workflow keeps each trained model under models/
# (which only its state machine writes), the prefix the temporary endpoints read too.
MODEL_OBJECTS = contract.MODEL_OBJECTS


def source_bucket_statements(
    scope: Construct, bucket_arn: str, reader: EnvironmentConfig
) -> list[iam.PolicyStatement]:
    """Bucket policy statements letting ``reader``'s serving role read model directories."""
    principal = _only_role(scope, reader, serving_role_name(reader))
    sid = f"ServeModelsIn{reader.name.capitalize()}"
    return [
        iam.PolicyStatement(
            sid=f"{sid}Objects",
            principals=[principal],
            actions=["s3:GetObject"],
            resources=[f"{bucket_arn}/{MODEL_OBJECTS}"],
        ),
        iam.PolicyStatement(
            sid=f"{sid}List",
            principals=[principal],
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [MODEL_OBJECTS]}},
        ),
    ]


def source_key_statement(scope: Construct, reader: EnvironmentConfig) -> iam.PolicyStatement:
    """A key policy statement letting ``reader``'s serving role decrypt, through S3 only."""
    return iam.PolicyStatement(
        sid=f"ServeModelsIn{reader.name.capitalize()}",
        principals=[_only_role(scope, reader, serving_role_name(reader))],
        actions=["kms:Decrypt"],
        resources=["*"],  # in a key policy, "*" is the key itself
        conditions={"StringEquals": {"kms:ViaService": f"s3.{reader.region}.amazonaws.com"}},
    )


def reader_statements(
    scope: Construct, source_account: str, region: str
) -> list[iam.PolicyStatement]:
    """The serving role's side of a cross-account read: model directories in one account.

    The source bucket's name is generated in the other account, so the bucket is a wildcard
    held to that account by ``aws:ResourceAccount``; the source's bucket policy narrows it to
    the artifacts bucket.
    """
    stack = Stack.of(scope)
    in_source = {"StringEquals": {"aws:ResourceAccount": source_account}}
    any_bucket = ArnComponents(service="s3", region="", account="", resource="*")
    source_keys = ArnComponents(
        service="kms", region=region, account=source_account, resource="key", resource_name="*"
    )
    return [
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"{Arn.format(any_bucket, stack)}/{MODEL_OBJECTS}"],
            conditions=in_source,
        ),
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[Arn.format(any_bucket, stack)],
            conditions={**in_source, "StringLike": {"s3:prefix": [MODEL_OBJECTS]}},
        ),
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[Arn.format(source_keys, stack)],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        ),
    ]


def _only_role(scope: Construct, env: EnvironmentConfig, role_name: str) -> iam.IPrincipal:
    """``env``'s account as principal, held to one role by ARN.

    An account principal with an ``aws:PrincipalArn`` condition, rather than the role's ARN
    as principal: S3 and KMS reject a policy naming a role that does not exist yet, and the
    reading environment deploys after the source one.
    """
    return iam.AccountPrincipal(env.account).with_conditions(
        {"ArnEquals": {"aws:PrincipalArn": role_arn(scope, env.account, role_name)}}
    )


def share_registry(
    group: sagemaker.CfnModelPackageGroup, readers: Sequence[EnvironmentConfig]
) -> None:
    """Lets ``readers``' accounts create models from this registry group's model packages.

    CloudFormation in the reading account creates the endpoint's model from a model package
    of this account: SageMaker then needs the group's resource policy to allow it to read
    the package. Read-only, and only this group's packages.
    """
    if not readers:
        return
    stack = Stack.of(group)
    name = group.model_package_group_name
    statement = iam.PolicyStatement(
        sid="ServeModelsInOtherAccounts",
        principals=[iam.AccountPrincipal(reader.account) for reader in readers],
        actions=[
            "sagemaker:DescribeModelPackage",
            "sagemaker:DescribeModelPackageGroup",
            "sagemaker:ListModelPackages",
        ],
        resources=[
            stack.format_arn(
                service="sagemaker", resource="model-package-group", resource_name=name
            ),
            stack.format_arn(
                service="sagemaker", resource="model-package", resource_name=f"{name}/*"
            ),
        ],
    )
    group.model_package_group_policy = iam.PolicyDocument(statements=[statement]).to_json()
