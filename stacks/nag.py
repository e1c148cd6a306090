"""cdk-nag: the AwsSolutions checks over the whole app, and narrow acknowledgements.

cdk-nag 3 runs as a CDK validation plugin (``Validations.of(app).add_plugins``); synth fails on
any finding that is not acknowledged. Each acknowledgement names one rule on one construct
(optionally one finding, e.g. one IAM wildcard) with the reason it is acceptable.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


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
    if len(reason) < 20:
        raise ValueError(f"acknowledgement of {rule} needs a real reason, got {reason!r}")
    # cdk-nag 3 reports its findings under the plugin name "AwsSolutions".
    rule_id = f"AwsSolutions::{rule}[{finding}]" if finding else f"AwsSolutions::{rule}"
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
