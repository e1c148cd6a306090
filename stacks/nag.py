"""The two infrastructure scanners' exceptions: cdk-nag acknowledgements, checkov suppressions.

cdk-nag 3 runs as a CDK validation plugin (``Validations.of(app).add_plugins``); synth fails on
any finding that is not acknowledged. Each acknowledgement names one rule on one construct
(optionally one finding, e.g. one IAM wildcard) with the reason it is acceptable.

checkov's CloudFormation checks run over the synthesized templates in the tests
(``tests/infra/test_checkov.py``), which fail on any failed check. Each suppression names one
check on one resource with its reason, in the resource's ``Metadata.checkov.skip``, where
checkov reads it (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).

Both are written next to each other, stack by stack: ``stacks/workflow/nag_acknowledgements.py``,
``stacks/pipeline/acknowledgements.py``, and here for what several stacks share.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, CfnResource, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

_MIN_REASON = 20
_CHECKOV_ID = re.compile(r"CKV2?_AWS_\d+")
ACCESS_LOG_BUCKET_REASON = (
    "This bucket receives the other buckets' server access logs. Logging it too would need "
    "another bucket, whose own logs raise the same question, or itself, which S3 advises "
    "against (an endless loop of log objects: "
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."
)


def add_checks(app: App) -> None:
    """Runs the AwsSolutions rule pack on every stack of ``app`` at synth time."""
    # No scope argument: a scoped AwsSolutionsChecks(app) skips the stacks inside Stages.
    Validations.of(app).add_plugins(AwsSolutionsChecks())


def acknowledge(construct: IConstruct, rule: str, reason: str, finding: str | None = None) -> None:
    """Accepts one rule's finding on one construct, with the reason written down.

    Args:
        construct: the construct the finding is reported on.
        rule: the rule id, e.g. ``"AwsSolutions-S1"``.
        reason: why the finding is acceptable here (at least a sentence).
        finding: for rules that report several findings (IAM wildcards), the one accepted.
    """
    if len(reason) < _MIN_REASON:
        raise ValueError(f"acknowledgement of {rule} needs a real reason, got {reason!r}")
    # cdk-nag 3 reports its findings under the plugin name "AwsSolutions".
    rule_id = f"AwsSolutions::{rule}[{finding}]" if finding else f"AwsSolutions::{rule}"
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Suppresses one checkov check on one resource, with the reason written down.

    Args:
        construct: the resource (a ``CfnResource``) or the L2 construct that owns it.
        check: the check id, e.g. ``"CKV_AWS_116"``.
        reason: why the check does not apply or the finding is acceptable (at least a sentence).
    """
    if not _CHECKOV_ID.fullmatch(check):
        raise ValueError(f"{check!r} is not a checkov AWS check id (CKV_AWS_<n>)")
    if len(reason) < _MIN_REASON:
        raise ValueError(f"suppression of {check} needs a real reason, got {reason!r}")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} is not a CloudFormation resource")
    metadata = resource.get_metadata("checkov") or {}
    skips = metadata.get("skip", [])
    if any(skip["id"] == check for skip in skips):
        raise ValueError(f"{check} is already suppressed on {resource.node.path}")
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check, "comment": reason}]})


def skip_access_logging(bucket: s3.IBucket) -> None:
    """The access-log bucket of a stack has no access log of its own (checkov CKV_AWS_18)."""
    skip_checkov(bucket, "CKV_AWS_18", ACCESS_LOG_BUCKET_REASON)
