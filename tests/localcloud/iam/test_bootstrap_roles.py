"""The CDK bootstrap roles are evaluated like any role: their template's inline, attached and
AWS managed policies, with the ``aws:ResourceAccount`` / ``s3:ResourceAccount`` keys they
condition on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from localcloud.deploy import bootstrap
from localcloud.server import LocalCloud
from tests.localcloud.iam.test_enforced import ACCOUNT, as_role, unique

REGION = "us-east-1"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-deploy-role-{ACCOUNT}-{REGION}"
STAGING_BUCKET = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"


@pytest.fixture(scope="module")
def deploy_role(
    local_cloud: LocalCloud, aws: Callable[[str], BaseClient]
) -> Callable[[str], BaseClient]:
    """Clients with a session of the bootstrap's deploy role, as the CDK CLI assumes it."""
    bootstrap(local_cloud, quiet=True)
    return as_role(local_cloud, aws, DEPLOY_ROLE, "")


def test_the_deploy_role_reads_stacks_through_its_aws_managed_policy(deploy_role) -> None:
    """DescribeStacks is allowed only by AWSCloudFormationReadOnlyAccess (ManagedPolicyArns)."""
    stacks = deploy_role("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"]
    assert stacks[0]["StackName"] == "CDKToolkit"


def test_the_deploy_role_lists_the_staging_bucket_and_no_other_bucket_of_its_account(
    deploy_role, aws: Callable[[str], BaseClient]
) -> None:
    """Its s3:List* on "*" holds only where s3:ResourceAccount is another account."""
    deploy_role("s3").list_objects_v2(Bucket=STAGING_BUCKET)
    other = unique("not-staging")
    aws("s3").create_bucket(Bucket=other)
    with pytest.raises(ClientError) as denied:
        deploy_role("s3").list_objects_v2(Bucket=other)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/cdk-hnb659fds-deploy-role-" in str(denied.value)
    assert "s3:ListBucket" in str(denied.value)
