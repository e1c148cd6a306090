"""`python -m cli preflight --target local` against a local cloud of its own: the real CDK
bootstrap and a deployed storage stack turn its problems into ok; what the local cloud has no
data for (images, SageMaker quotas) says so."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

import cli.__main__ as cli_main
from localcloud.deploy import bootstrap
from localcloud.server import LocalCloud, start

# A stand-in for the Local-Storage stack: its two buckets and the outputs the CLI reads.
STORAGE_TEMPLATE = {
    "Resources": {
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "preflight-data"}},
        "Artifacts": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "preflight-art"}},
    },
    "Outputs": {
        "DataBucketName": {"Value": {"Ref": "Data"}},
        "ArtifactsBucketName": {"Value": {"Ref": "Artifacts"}},
    },
}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A local cloud this module bootstraps and deploys into, apart from the shared one."""
    with start(state_dir=tmp_path_factory.mktemp("preflight-cloud")) as started:
        yield started


def _preflight(cloud: LocalCloud, monkeypatch, capsys, *extra: str) -> tuple[int, dict]:
    monkeypatch.setattr("localcloud.server.find", lambda: cloud)
    code = cli_main.main(["preflight", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _statuses(report: dict) -> dict[tuple[str, str], str]:
    return {(f["check"], f["subject"]): f["status"] for f in report["findings"]}


def test_preflight_on_the_local_cloud(cloud, monkeypatch, capsys, tmp_path):
    code, report = _preflight(cloud, monkeypatch, capsys)
    assert code == 1
    (bootstrap_finding,) = [f for f in report["findings"] if f["check"] == "bootstrap"]
    assert bootstrap_finding["status"] == "problem"
    assert "/cdk-bootstrap/hnb659fds/version does not exist" in bootstrap_finding["detail"]
    assert bootstrap_finding["fix"].startswith("`python -m cli deploy` bootstraps")
    statuses = _statuses(report)
    assert statuses[("bucket", "Local-Storage")] == "skipped"
    assert {s for (check, _), s in statuses.items() if check in ("image", "quota")} == {
        "not emulated"
    }

    bootstrap(cloud, quiet=True)  # the real CDK CLI, as `python -m cli deploy` runs it
    client = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=cloud.region
    ).client
    client("cloudformation", endpoint_url=cloud.endpoint_url).create_stack(
        StackName="Local-Storage", TemplateBody=json.dumps(STORAGE_TEMPLATE)
    )
    run = tmp_path / "run.json"
    run.write_text(
        json.dumps(
            {"base_model": "s3://preflight-data/models/m/", "dataset": {"s3_uri": "s3://x/d"}}
        )
    )
    code, report = _preflight(cloud, monkeypatch, capsys, "--input", str(run))
    statuses = _statuses(report)
    assert statuses[("account", "environments.local")] == "ok"
    assert statuses[("bootstrap", f"aws://123456789012/{cloud.region}")] == "ok"
    assert statuses[("bucket", "DataBucketName of Local-Storage")] == "ok"
    assert statuses[("bucket", "ArtifactsBucketName of Local-Storage")] == "ok"
    # The input names a model folder with no config.json and a bucket that does not exist.
    assert statuses[("input", "base_model")] == "problem"
    assert statuses[("input", "dataset.s3_uri")] == "problem"
    assert code == 1
    assert report["summary"]["problem"] == 2

    code, report = _preflight(cloud, monkeypatch, capsys)
    assert code == 0
    assert report["ok"] is True
    assert "problem" not in report["summary"]
