"""cdk-nag acknowledgements for the roles CDK Pipelines writes for itself, and the pipeline's
checkov suppressions (``skip_pipeline_checks``).

CDK Pipelines grants its pipeline, source, synth, self-mutation and step roles access to the
pipeline's artifact bucket and key with CDK's ``grantReadWrite``, whose actions end in ``*``
(``s3:GetObject*`` covers GetObjectVersion, GetObjectTagging, ...), and writes CodeBuild's
log and report-group permissions with generated names. Each finding is acknowledged one by
one, on the policy that has it, with the reason below; a wildcard that matches no reason
here stays a finding and fails synth, so a new one gets looked at.
"""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.nag import acknowledge, skip_access_logging, skip_checkov
from stacks.serving.wildcards import wildcard_findings

_ARTIFACT_VERBS = (
    "CDK's grant on the pipeline's own artifact bucket and key (the statement's only "
    "resources); the wildcard is one verb's variants (object versions, tags, ACLs)."
)
# (finding pattern, construct path pattern, reason); {bucket} is the artifact bucket's id.
_REASONS: tuple[tuple[str, str, str], ...] = (
    (r"Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*", ".*", _ARTIFACT_VERBS),
    (r"Action::kms:(GenerateDataKey|ReEncrypt)\*", ".*", _ARTIFACT_VERBS),
    (
        r"Resource::<{bucket}\.Arn>/\*",
        ".*",
        "Artifacts are objects with generated names, all in the pipeline's own bucket.",
    ),
    (
        r"Resource::arn:[^:]+:logs:[^:]+:\d{{12}}:log-group:/aws/codebuild/<\w+>:\*",
        ".*",
        "CodeBuild writes each build's log stream, named per build, into the log group of "
        "this role's own project.",
    ),
    (
        r"Resource::arn:[^:]+:codebuild:[^:]+:\d{{12}}:report-group/<\w+>-\*",
        ".*",
        "CodeBuild test report groups are named after this role's own project at build time.",
    ),
    (
        r"Resource::arn:\*:iam::{account}:role/\*",
        ".*/SelfMutation/.*",
        "Self-mutation assumes the CDK bootstrap roles of the tooling account only; a "
        "condition on their aws-cdk:bootstrap-role tag holds it to those roles.",
    ),
    (
        r"Resource::\*",
        ".*/SelfMutation/.*",
        "Self-mutation runs cdk deploy, which reads stack status (DescribeStacks) and lists "
        "the bootstrap bucket before it knows their names.",
    ),
    # One role publishes every file asset, through the CodeBuild project CDK Pipelines generates.
    (
        r"Resource::arn:[^:]+:logs:[^:]+:{account}:log-group:/aws/codebuild/\*",
        ".*/Assets/FileRole/.*",
        "The shared asset-publishing role writes the logs of the asset project CDK Pipelines "
        "generates, whose log group it cannot name: every CodeBuild log group of the account.",
    ),
    (
        r"Resource::arn:[^:]+:codebuild:[^:]+:{account}:report-group/\*",
        ".*/Assets/FileRole/.*",
        "The shared asset-publishing role may report for the generated asset project; its "
        "report groups are named after a project created with the pipeline.",
    ),
    (
        r"Resource::\*",
        ".*/Assets/FileRole/.*",
        "The asset-publishing action starts and watches its generated CodeBuild project "
        "(StartBuild, BatchGetBuilds, StopBuild) through this shared role.",
    ),
)


def acknowledge_pipeline_wildcards(pipeline: Construct, bucket_id: str) -> None:
    """Acknowledges each known IAM5 finding on each role policy under ``pipeline``.

    Args:
        pipeline: the ``CodePipeline`` construct, after ``build_pipeline()``.
        bucket_id: the artifact bucket's logical id, as cdk-nag prints it.
    """
    account = Stack.of(pipeline).account
    rules = [
        (re.compile(f.format(bucket=bucket_id, account=account)), re.compile(p), reason)
        for f, p, reason in _REASONS
    ]
    for construct in pipeline.node.find_all():
        if not isinstance(construct, iam.CfnPolicy):
            continue
        path = construct.node.path
        for finding in wildcard_findings(construct):
            reason = next(
                (r for f, p, r in rules if f.fullmatch(finding) and p.fullmatch(path)), None
            )
            if reason is not None:
                acknowledge(construct, "AwsSolutions-IAM5", reason, finding=finding)


ASSET_BUILDS_REASON = (
    "CDK Pipelines' shared asset-publishing role starts, watches and stops the builds of the "
    "CodeBuild project it generates for the file assets (codebuild:StartBuild, BatchGetBuilds, "
    "StopBuild on every project): the same grant as the AwsSolutions-IAM5 finding above."
)


def skip_pipeline_checks(pipeline: Construct, access_logs: s3.IBucket) -> None:
    """Suppresses the pipeline's checkov findings, each with its reason.

    Args:
        pipeline: the ``CodePipeline`` construct, after ``build_pipeline()``.
        access_logs: the artifact bucket's access-log bucket.
    """
    skip_access_logging(access_logs)
    file_role = pipeline.node.find_child("Assets").node.find_child("FileRole")
    skip_checkov(file_role.node.find_child("DefaultPolicy"), "CKV_AWS_111", ASSET_BUILDS_REASON)
