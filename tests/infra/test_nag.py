"""cdk-nag's AwsSolutions pack: no finding may pass unacknowledged, in any environment."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from stacks.nag import acknowledge, add_checks


def test_no_unacknowledged_findings(any_env):
    for report in any_env.validation_report()["pluginReports"]:
        assert report["violations"] == [], (report["pluginName"], report["violations"])


def test_every_acknowledgement_names_one_rule_and_a_reason(any_env):
    for report in any_env.validation_report()["pluginReports"]:
        for suppressed in report.get("suppressedViolations", []):
            if report["pluginName"] != "AwsSolutions":
                continue
            assert "::" in suppressed["acknowledgedId"]
            assert len(suppressed["reason"]) >= 20


def test_a_finding_fails_synth(tmp_path):
    """The checks really run: an unlogged, plain-HTTP bucket stops synth."""
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Careless"), "Bucket")
    add_checks(app)
    with pytest.raises(Exception, match="AwsSolutions-S1"):
        app.synth()


def test_an_acknowledged_finding_passes(tmp_path):
    app = App(outdir=str(tmp_path))
    bucket = s3.Bucket(Stack(app, "Acknowledged"), "Bucket", enforce_ssl=True)
    acknowledge(bucket, "AwsSolutions-S1", "A test bucket that only exists during this test.")
    add_checks(app)
    app.synth()


def test_an_acknowledgement_needs_a_reason():
    app = App()
    bucket = s3.Bucket(Stack(app, "Lazy"), "Bucket")
    with pytest.raises(ValueError, match="real reason"):
        acknowledge(bucket, "AwsSolutions-S1", "ok")
