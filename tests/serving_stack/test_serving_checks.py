"""cdk-nag and cfn-lint on a pinned local environment (the pipeline's stages: tests/pipeline)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _serving_acknowledgements(synth) -> list[dict]:
    return [
        s
        for report in synth.validation_report()["pluginReports"]
        for s in report.get("suppressedViolations", [])
        if "/Serving/" in s["acknowledgedAt"]
    ]


def test_no_unacknowledged_findings(local_pinned):
    for report in local_pinned.validation_report()["pluginReports"]:
        assert report["violations"] == [], (report["pluginName"], report["violations"])


def test_serving_acknowledges_one_wildcard_at_a_time_on_its_role(local_pinned):
    findings = {
        (s["acknowledgedAt"], s["acknowledgedId"]): s["reason"]
        for s in _serving_acknowledgements(local_pinned)
    }
    at = "Local/Serving/Role"
    assert set(findings) == {
        (at, "AwsSolutions::AwsSolutions-IAM5[Resource::*]"),
        (
            at,
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:us-east-1:123456789012:"
            "log-group:/aws/sagemaker/Endpoints/*]",
        ),
        (
            at,
            'AwsSolutions::AwsSolutions-IAM5[Resource::{"Fn::GetStackOutput":{"StackName":'
            '"Local-Storage","Region":"us-east-1","OutputName":"ArtifactsBucketArn"}}'
            "/data-capture/*]",
        ),
        (
            at,
            'AwsSolutions::AwsSolutions-IAM5[Resource::{"Fn::GetStackOutput":{"StackName":'
            '"Local-Storage","Region":"us-east-1","OutputName":"ArtifactsBucketArn"}}'
            "/models/*]",
        ),
    }
    assert all(len(reason) >= 40 for reason in findings.values())


def test_serving_and_storage_templates_pass_cfn_lint(local_pinned, tmp_path):
    paths = []
    for (stage, stack), template in local_pinned.templates.items():
        if stack in ("Serving", "Storage"):
            path = tmp_path / f"{stage}-{stack}.json"
            path.write_text(json.dumps(template))
            paths.append(str(path))
    assert len(paths) >= 2
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "--", *paths],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
