"""cdk-nag's AwsSolutions pack: no finding may pass unacknowledged, in any environment; and
checkov's suppressions, which ``stacks/nag.py`` writes into the resources' metadata."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from stacks.nag import acknowledge, add_checks, skip_checkov


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


def test_a_checkov_suppression_is_one_check_on_one_resource_with_a_reason():
    app = App()
    bucket = s3.Bucket(Stack(app, "Suppressed"), "Bucket")
    skip_checkov(bucket, "CKV_AWS_18", "A test bucket that only exists during this test.")
    skip_checkov(bucket, "CKV_AWS_21", "Versioning would keep the test's objects around.")

    template = app.synth().get_stack_by_name("Suppressed").template
    (resource,) = template["Resources"].values()
    assert resource["Metadata"]["checkov"]["skip"] == [
        {"id": "CKV_AWS_18", "comment": "A test bucket that only exists during this test."},
        {"id": "CKV_AWS_21", "comment": "Versioning would keep the test's objects around."},
    ]
    with pytest.raises(ValueError, match="already suppressed"):
        skip_checkov(bucket, "CKV_AWS_18", "The same check twice on one resource is a mistake.")
    with pytest.raises(ValueError, match="real reason"):
        skip_checkov(bucket, "CKV_AWS_19", "ok")
    with pytest.raises(ValueError, match="not a checkov AWS check id"):
        skip_checkov(bucket, "AwsSolutions-S1", "A cdk-nag rule is acknowledged, not skipped.")
