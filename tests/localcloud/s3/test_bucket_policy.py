"""A stack's AWS::S3::BucketPolicy is put on the bucket, changed by updates, removed on delete."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.localcloud.helpers import create_stack


def _template(sid: str) -> dict:
    statement = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:PutObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/models/*"]]},
    }
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Bucket"},
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                },
            },
        },
        "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}},
    }


def _bucket(stack: dict) -> str:
    return next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "BucketName")


def _sids(s3: BaseClient, bucket: str) -> list[str]:
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    return [statement["Sid"] for statement in policy["Statement"]]


def test_the_policy_is_applied_updated_and_removed(aws: Callable[[str], BaseClient]):
    cfn, s3 = aws("cloudformation"), aws("s3")
    name = f"bucket-policy-{uuid.uuid4().hex[:8]}"
    bucket = _bucket(create_stack(cfn, name, _template("First")))
    assert _sids(s3, bucket) == ["First"]
    statement = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]
    assert statement["Resource"] == f"arn:aws:s3:::{bucket}/models/*"

    create_stack(cfn, name, _template("Second"), ChangeSetType="UPDATE")
    assert _sids(s3, bucket) == ["Second"]

    cfn.delete_stack(StackName=name)
    with pytest.raises(ClientError) as error:
        s3.get_bucket_policy(Bucket=bucket)
    assert error.value.response["Error"]["Code"] in {"NoSuchBucket", "NoSuchBucketPolicy"}
