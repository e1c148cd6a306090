"""Log groups encrypted with an environment's key, which CloudWatch Logs may use for them alone.

CloudWatch Logs encrypts a log group with a KMS key only if the key's policy lets the regional
service principal use it, and it names the log group in the encryption context of every call,
so a condition on ``kms:EncryptionContext:aws:logs:arn`` holds the key to the groups listed
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, "Step 2:
Set permissions on the KMS key"). Every log group the stacks create comes from
``EncryptedLogs.log_group``: it is named, so that the key's policy can list it before it
exists (the key lives in an earlier stack), encrypted with the key, and kept for ``RETENTION``.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

RETENTION = logs.RetentionDays.THREE_MONTHS
LOG_GROUP_CONTEXT = "kms:EncryptionContext:aws:logs:arn"
# The actions of the CloudWatch Logs guide's key policy statement (the page above).
LOGS_KEY_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
]


class EncryptedLogs:
    """The log groups of one environment (or of the pipeline), all encrypted with ``key``.

    Args:
        key: the key; it must be a key of this app, whose policy this class extends.
        removal: what happens to each log group when its stack is deleted.
    """

    def __init__(self, key: kms.Key, removal: RemovalPolicy) -> None:
        self.key = key
        self.removal = removal
        self._arns: list[str] = []
        self._statement = iam.PolicyStatement(
            sid="CloudWatchLogsEncryptsTheProjectsLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{Stack.of(key).region}.amazonaws.com")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],
        )
        key.add_to_resource_policy(self._statement)

    def allow(self, name: str) -> None:
        """Lets CloudWatch Logs use the key for the log group ``name`` of the key's account and
        region, which someone else creates (e.g. SageMaker's own log groups)."""
        arn = Stack.of(self.key).format_arn(
            service="logs",
            resource="log-group",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        if arn not in self._arns:
            self._arns.append(arn)
        # The last condition on one key wins: restate the whole list.
        self._statement.add_condition("ArnEquals", {LOG_GROUP_CONTEXT: list(self._arns)})

    def log_group(self, scope: Construct, construct_id: str, *, name: str) -> logs.LogGroup:
        """A log group ``name`` in ``scope``, encrypted with the key and kept ``RETENTION``.

        ``name`` must be plain text (no token of another stack): the key's policy names it.
        """
        self.allow(name)
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            encryption_key=self.key,
            retention=RETENTION,
            removal_policy=self.removal,
        )
