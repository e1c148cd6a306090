"""The pipeline's artifact store and build logs: a customer-managed key, a logged, encrypted
bucket and an encrypted log group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs


class PipelineArtifacts(Construct):
    """Given to CDK Pipelines instead of the bucket it would make (unlogged, without rotation).

    The key is what ``cross_account_keys`` would create: the deploy roles in the target
    accounts decrypt the artifacts with it. Artifacts are only needed while an execution runs,
    so they expire; nothing here is worth retaining once the pipeline is deleted. Every
    CodeBuild project of the pipeline logs to ``build_logs``, encrypted with the same key
    (the builds print the tests' output and the synthesized stacks).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the GitOps pipeline's artifacts, shared with the target accounts",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.build_logs = EncryptedLogs(self.key, RemovalPolicy.DESTROY).log_group(
            self, "BuildLogs", name=f"/aws/codebuild/{Stack.of(self).stack_name}"
        )
        common = {
            "versioned": True,
            "enforce_ssl": True,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "removal_policy": RemovalPolicy.DESTROY,
            "auto_delete_objects": False,
        }
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can only deliver to buckets encrypted with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            **common,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(7),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            **common,
        )
