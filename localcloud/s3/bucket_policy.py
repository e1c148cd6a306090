"""``AWS::S3::BucketPolicy`` applied, not only recorded.

moto has no CloudFormation model for it: without one, a deployed stack's bucket policy is never
set, so the artifacts bucket's Deny on ``models/`` (stacks/storage.py) would not exist locally
and IAM enforcement (``localcloud/iam``) could not evaluate it. Here the policy is put on the
bucket with moto's own ``put_bucket_policy`` on create and update, and removed on delete.
"""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import s3_backends

from localcloud.cloudformation.local_resource import LocalResource


def _backend(account_id: str) -> Any:
    return s3_backends[account_id]["global"]


def _put(properties: dict[str, Any], account_id: str) -> str:
    bucket = properties["Bucket"]
    document = properties["PolicyDocument"]
    text = document if isinstance(document, str) else json.dumps(document)
    _backend(account_id).put_bucket_policy(bucket, text.encode())
    return bucket


class BucketPolicy(LocalResource):
    """One bucket's policy, as CloudFormation sets it."""

    RESOURCE_TYPE = "AWS::S3::BucketPolicy"

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BucketPolicy:
        return cls(_put(cloudformation_json["Properties"], account_id))

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls(cloudformation_json["Properties"]["Bucket"]).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        # The bucket may already be gone (a stack deletion removes both).
        if self.bucket in _backend(account_id).buckets:
            _backend(account_id).delete_bucket_policy(self.bucket)
