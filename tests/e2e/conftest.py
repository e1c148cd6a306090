"""The `local` environment deployed by the real CDK CLI to a local cloud, once per session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from cli.sample_models import tiny_model_dir
from localcloud.deploy import bootstrap, deploy
from localcloud.server import LocalCloud, start

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Deployed:
    """A deployed `local` environment and clients that reach it."""

    cloud: LocalCloud
    outputs: dict[str, dict[str, str]]
    data_bucket: str
    artifacts_bucket: str
    state_machine_arn: str
    base_model_uri: str

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.cloud.endpoint_url,
            region_name=self.cloud.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def upload_records(self, key: str, lines: list[str]) -> str:
        self.client("s3").put_object(
            Bucket=self.data_bucket, Key=key, Body="\n".join(lines).encode() + b"\n"
        )
        return f"s3://{self.data_bucket}/{key}"


@pytest.fixture(scope="session")
def deployed(tmp_path_factory) -> Iterator[Deployed]:
    with start(state_dir=tmp_path_factory.mktemp("localcloud")) as cloud:
        bootstrap(cloud, quiet=True)
        outputs = deploy(cloud, ROOT, {"env": "local"}, quiet=True)
        storage, workflow = outputs["Local-Storage"], outputs["Local-Workflow"]
        found = Deployed(
            cloud=cloud,
            outputs=outputs,
            data_bucket=storage["DataBucketName"],
            artifacts_bucket=storage["ArtifactsBucketName"],
            state_machine_arn=workflow["StateMachineArn"],
            base_model_uri="",
        )
        s3 = found.client("s3")
        model_dir = tiny_model_dir()
        for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
            s3.upload_file(str(path), found.data_bucket, f"models/tiny/{path.name}")
        found.base_model_uri = f"s3://{found.data_bucket}/models/tiny/"
        yield found


def sample_records(count: int) -> list[str]:
    """The first ``count`` records of the bundled text-to-SQL dataset, as JSONL lines."""
    lines = (ROOT / "sample_data" / "text_to_sql.jsonl").read_text().splitlines()
    return lines[:count]


def run_to_end(deployed: Deployed, name: str, execution_input: dict, timeout_s: float = 600):
    """Starts one execution, waits for it to end; returns (description, visited states)."""
    import time

    sfn = deployed.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=deployed.state_machine_arn, name=name, input=json.dumps(execution_input)
    )["executionArn"]
    deadline = time.monotonic() + timeout_s
    while True:
        description = sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, f"{name} still running after {timeout_s} s"
        time.sleep(2)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    visited = [
        e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")
    ]
    return description, visited
