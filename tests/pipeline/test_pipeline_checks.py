"""cdk-nag and cfn-lint over the pipeline and every stage it deploys, pinned and not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(params=["pipeline", "pinned_pipeline"])
def any_pipeline(request):
    return request.getfixturevalue(request.param)


# The constructs this area writes: the pipeline (with CDK Pipelines' own roles) and each
# stage's Serving stack. The other stacks' acknowledgements are checked in tests/infra.
OURS = re.compile(r"^(Pipeline/Pipeline/|Pipeline/\w+/Serving/)")
# Stacks linted here; the Storage templates carry this area's cross-account grants.
LINTED = ("Pipeline", "Serving", "Storage")


def _suppressed(synth) -> list[dict]:
    return [
        s
        for report in synth.validation_report()["pluginReports"]
        for s in report.get("suppressedViolations", [])
        if OURS.match(s["acknowledgedAt"])
    ]


def test_no_unacknowledged_findings(any_pipeline):
    for report in any_pipeline.validation_report()["pluginReports"]:
        assert report["violations"] == [], (report["pluginName"], report["violations"])


def test_each_acknowledgement_is_one_finding_on_one_construct_with_a_reason(any_pipeline):
    suppressed = _suppressed(any_pipeline)
    assert suppressed, "the pipeline's own roles have wildcards: expected acknowledgements"
    for finding in suppressed:
        # e.g. AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]: one rule, one finding.
        assert re.fullmatch(r"AwsSolutions::AwsSolutions-IAM5\[.+\]", finding["acknowledgedId"])
        assert len(finding["reason"]) >= 40, finding
        (construct,) = finding["violatingConstructs"]
        path, at = construct["constructPath"], finding["acknowledgedAt"]
        assert path == at or path.startswith(at + "/"), (path, at)


def _finding(acknowledged_id: str) -> str:
    return re.fullmatch(r".*?\[(.+)\]", acknowledged_id).group(1)


def test_pipeline_roles_acknowledge_only_known_wildcards(pipeline):
    """The wildcards CDK Pipelines writes, each acknowledged where it is; nothing else."""
    on_pipeline = [
        s for s in _suppressed(pipeline) if s["acknowledgedAt"].startswith("Pipeline/Pipeline/")
    ]
    synth = "<PipelineBuildSynthCdkBuildProject6BEFA8E6>"
    mutation = "<PipelineUpdatePipelineSelfMutationDAA41400>"
    logs = "Resource::arn:aws:logs:us-east-1:111111111111:log-group:/aws/codebuild/"
    reports = "Resource::arn:aws:codebuild:us-east-1:111111111111:report-group/"
    assert {_finding(s["acknowledgedId"]) for s in on_pipeline} == {
        "Action::s3:Abort*",
        "Action::s3:DeleteObject*",
        "Action::s3:GetBucket*",
        "Action::s3:GetObject*",
        "Action::s3:List*",
        "Action::kms:GenerateDataKey*",
        "Action::kms:ReEncrypt*",
        "Resource::<ArtifactsBucket88671897.Arn>/*",
        f"{logs}{synth}:*",
        f"{reports}{synth}-*",
        f"{logs}{mutation}:*",
        f"{reports}{mutation}-*",
        "Resource::arn:*:iam::111111111111:role/*",
        "Resource::*",
        f"{logs}*",
        f"{reports}*",
    }
    for s in on_pipeline:
        finding, at = _finding(s["acknowledgedId"]), s["acknowledgedAt"]
        if finding in ("Resource::*", f"{logs}*", f"{reports}*"):
            assert "/UpdatePipeline/SelfMutation/" in at or "/Assets/FileRole/" in at, s
        if finding.startswith("Resource::arn:*:iam"):
            assert "/UpdatePipeline/SelfMutation/" in at, s


# Rules switched off for the pipeline's template only: both fire on what CDK Pipelines writes.
PIPELINE_IGNORED_RULES: dict[str, str] = {
    "E3703": "CDK Pipelines passes the target accounts' cfn-exec role ARNs as Fn::Join inside "
    "the CloudFormation actions' Configuration; CloudFormation resolves both forms alike",
    "W3005": "CDK's codepipeline.Pipeline adds an explicit DependsOn on its role beside GetAtt",
}


def _cfn_lint(paths: list[str], ignored: dict[str, str]) -> subprocess.CompletedProcess:
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    ignore = ["--ignore-checks", *ignored] if ignored else []
    return subprocess.run(
        [cfn_lint, "--format", "parseable", *ignore, "--", *paths],
        capture_output=True,
        text=True,
    )


def test_templates_pass_cfn_lint(any_pipeline, tmp_path):
    stage_paths, pipeline_path = [], tmp_path / "Pipeline.json"
    for (stage, stack), template in any_pipeline.templates.items():
        if stack not in LINTED:
            continue
        path = tmp_path / f"{stage}-{stack}.json" if stage else pipeline_path
        path.write_text(json.dumps(template))
        if stage:
            stage_paths.append(str(path))
    for result in (
        _cfn_lint(stage_paths, {}),
        _cfn_lint([str(pipeline_path)], PIPELINE_IGNORED_RULES),
    ):
        assert result.returncode == 0, result.stdout + result.stderr
