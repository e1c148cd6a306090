"""Storage: the project's KMS key and its data, artifacts and access-log buckets."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts import workflow as contract
from stacks.config_schema import PROJECT, EnvironmentConfig
from stacks.encrypted_logs import EncryptedLogs
from stacks.nag import skip_access_logging

# Where the serving endpoint's data capture writes, in the artifacts bucket.
DATA_CAPTURE_PREFIX = "data-capture"
# SageMaker creates these on a job's first log line, one per account and region, for every
# job; an account encrypts them with the environment's key itself (docs/security.md).
SAGEMAKER_JOB_LOG_GROUPS = ("/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs")


def kept_models_writer_name(config: EnvironmentConfig) -> str:
    """The training state machine's role: named, so that the artifacts bucket can let it alone
    write the kept models without a reference to the workflow stack, which depends on this one."""
    return f"{PROJECT}-{config.name}-workflow-{config.region}"


class StorageStack(Stack):
    """A customer-managed key and three buckets: training data, run artifacts, access logs.

    Data and artifacts are encrypted with the key, versioned, TLS-only, closed to the public
    and logged to the access-log bucket. Production retains everything on stack deletion;
    local and dev environments may destroy it. ``logs`` makes the environment's log groups,
    encrypted with the same key (``stacks/encrypted_logs.py``).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "Key",
            description=(
                "Encrypts the fine-tuning project's data, artifacts, logs and notifications"
            ),
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.logs = EncryptedLogs(self.key, removal)
        for name in SAGEMAKER_JOB_LOG_GROUPS:
            self.logs.allow(name)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can only deliver to buckets encrypted with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[*_lifecycle_rules(), s3.LifecycleRule(expiration=Duration.days(365))],
            **_common_bucket_settings(removal),
        )
        skip_access_logging(self.access_logs)
        self.data = self._bucket("Data", "data/", removal)
        # Captured requests and responses are end users' prompts: kept for a set time only.
        self.artifacts = self._bucket(
            "Artifacts",
            "artifacts/",
            removal,
            s3.LifecycleRule(
                id="ExpireDataCapture",
                prefix=f"{DATA_CAPTURE_PREFIX}/",
                expiration=Duration.days(config.endpoint.data_capture_retention_days),
                # The bucket is versioned: expiring only hides an object behind a delete
                # marker, so its data goes a day later, not at the generic 30 days.
                noncurrent_version_expiration=Duration.days(1),
            ),
        )
        self._keep_models_write_once(config)
        CfnOutput(
            self,
            "DataBucketName",
            value=self.data.bucket_name,
            description="Upload training data here",
        )
        CfnOutput(
            self,
            "ArtifactsBucketName",
            value=self.artifacts.bucket_name,
            description="Runs write data splits, checkpoints, models and reports here",
        )
        CfnOutput(
            self,
            "KeyArn",
            value=self.key.key_arn,
            description="Encrypts the buckets, the topic, the log groups and function settings; "
            "SageMaker's job log groups take it too (docs/security.md)",
        )

    def _keep_models_write_once(self, config: EnvironmentConfig) -> None:
        """Kept models are what registered packages and every serving account load: nobody
        but the training state machine's role may write, overwrite or delete them, whatever
        their IAM policies allow (an explicit Deny wins; the account's root user excepted)."""
        writer = Stack.of(self).format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=kept_models_writer_name(config),
        )
        self.artifacts.add_to_resource_policy(
            iam.PolicyStatement(
                sid="KeptModelsAreWrittenOnceByTheWorkflow",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[self.artifacts.arn_for_objects(contract.MODEL_OBJECTS)],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": writer}},
            )
        )

    def _bucket(
        self,
        construct_id: str,
        log_prefix: str,
        removal: RemovalPolicy,
        *extra_rules: s3.LifecycleRule,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=[*_lifecycle_rules(), *extra_rules],
            **_common_bucket_settings(removal),
        )


def _common_bucket_settings(removal: RemovalPolicy) -> dict:
    return {
        "versioned": True,
        "enforce_ssl": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "removal_policy": removal,
    }


def _lifecycle_rules() -> list[s3.LifecycleRule]:
    return [
        s3.LifecycleRule(
            id="AbortIncompleteUploads",
            abort_incomplete_multipart_upload_after=Duration.days(7),
        ),
        # Model checkpoints are rewritten often; old versions only cost money after a month.
        s3.LifecycleRule(
            id="ExpireNoncurrentVersions", noncurrent_version_expiration=Duration.days(30)
        ),
    ]
