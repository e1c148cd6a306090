"""The Serving stack on the local cloud, deployed by the real CDK CLI: a pin brings up an
endpoint that passes the pipeline's smoke test; removing the pin deletes it.

The local cloud replaces an endpoint when CloudFormation updates it (moto's resource handler
deletes and recreates it), so SageMaker's blue/green roll is not modelled here; the
guardrails' settings are checked in the templates (test_guardrails_and_scaling.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cli.sample_models import tiny_model_dir
from localcloud.deploy import bootstrap, deploy
from localcloud.server import LocalCloud, start
from stacks.pipeline import smoke_test
from tests.pipeline.synth import pinned_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MODELS = "local-models"  # a bucket of its own: no stack has to exist before the first pin


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, monkeypatch_module) -> Iterator[LocalCloud]:
    with start(state_dir=tmp_path_factory.mktemp("serving-cloud")) as cloud:
        for key, value in cloud.env().items():
            monkeypatch_module.setenv(key, value)
        bootstrap(cloud, quiet=True)
        s3 = boto3.client("s3", region_name=cloud.region)
        s3.create_bucket(Bucket=MODELS)
        model = tiny_model_dir()
        for path in model.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), MODELS, f"runs/first/model/{path.relative_to(model)}")
        yield cloud


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _deploy(cloud: LocalCloud, tmp_path: Path, pin: str | None) -> dict[str, str]:
    """Deploys the local environment's Serving stack with ``pin`` as its model."""
    tmp_path.mkdir()
    config = pinned_config(tmp_path, {"local": pin})
    context = {"env": "local", "config": str(config)}
    outputs = deploy(cloud, ROOT, context, stacks=["Local/Serving"], quiet=True)
    return outputs.get("Local-Serving", {})


def _wait_in_service(name: str, timeout_s: float = 180) -> dict:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] in ("InService", "Failed"):
            assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
            return endpoint
        time.sleep(1)
    raise AssertionError(f"endpoint {name} not InService after {timeout_s} s")


def test_a_pinned_model_is_served_through_the_contract(cloud, tmp_path):
    outputs = _deploy(cloud, tmp_path / "pinned", f"s3://{MODELS}/runs/first/model/")
    name = outputs["EndpointName"]
    assert name.startswith("Local-Serving-Endpoint")  # named by CloudFormation, not by us
    endpoint = _wait_in_service(name)
    assert endpoint["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert smoke_test.main(["--endpoint-name", name, "--region", cloud.region]) == 0
    # The container environment's limits (config: endpoint.max_concurrency 32) reach the server.
    assert "batches of up to 32," in _server_line(name, "model loaded", cloud.region)


def _server_line(endpoint: str, text: str, region: str, timeout_s: float = 30) -> str:
    """The first line with ``text`` in the endpoint's log group (shipped every few seconds)."""
    logs = boto3.client("logs", region_name=region)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        group = f"/aws/sagemaker/Endpoints/{endpoint}"
        events = logs.filter_log_events(logGroupName=group)["events"]
        lines = [e["message"] for e in events if text in e["message"]]
        if lines:
            return lines[0]
        time.sleep(1)
    raise AssertionError(f"no {text!r} line in the endpoint's logs after {timeout_s} s")


def test_removing_the_pin_deletes_the_endpoint(cloud, tmp_path):
    sagemaker = boto3.client("sagemaker", region_name=cloud.region)
    assert sagemaker.list_endpoints()["Endpoints"], "the test above leaves one endpoint"
    assert _deploy(cloud, tmp_path / "unpinned", None) == {}
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    iam = boto3.client("iam", region_name=cloud.region)
    assert iam.get_role(RoleName="llm-finetune-local-serving-us-east-1")["Role"]["RoleName"]
