"""A moto server in this process with the SageMaker patches installed, shared by these tests."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

import localcloud.sagemaker as local_sagemaker
from localcloud import validation

HERE = Path(__file__).resolve().parent
STANDIN_SERVER = HERE / "standin_server.py"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/local-sagemaker"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:latest"


@dataclass
class Cloud:
    """The running local cloud, and helpers the tests share."""

    endpoint_url: str
    state_dir: Path
    bucket: str

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    def put(self, key: str, body: bytes | str) -> str:
        """Uploads ``body`` to the test bucket; returns its ``s3://`` URI."""
        data = body.encode() if isinstance(body, str) else body
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def put_tarball(self, key: str, files: dict[str, str]) -> str:
        """Uploads a ``.tar.gz`` holding ``files`` (name -> text), like a sourcedir.tar.gz."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return self.put(key, buffer.getvalue())

    def get(self, key: str) -> bytes:
        return self.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(check: Callable[[], Any], timeout_s: float = 60, what: str = "condition") -> Any:
    """Polls ``check`` until it returns something truthy; fails the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_status(describe: Callable[[], dict], field: str, done: set[str], timeout_s: float = 60):
    """Polls a Describe* call until ``field`` is one of ``done``; returns the description."""
    seen: list[str] = []

    def check() -> dict | None:
        description = describe()
        seen.append(description[field])
        return description if description[field] in done else None

    try:
        return wait_for(check, timeout_s, f"{field} in {sorted(done)}")
    except AssertionError as error:
        raise AssertionError(f"{error}; statuses seen: {sorted(set(seen))}") from None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone. A process reaped between the kill above
    # and this read makes the read fail with ENOENT or, mid-reap, ESRCH: gone too.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    port = _free_port()
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions calls the services here
    state_dir = tmp_path_factory.mktemp("localcloud")
    validation.install()  # every request checked against botocore's model, as serve.py does
    local_sagemaker.install(
        state_dir,
        endpoint_server=STANDIN_SERVER,
        endpoint_startup_timeout_s=60,
        checkpoint_sync_s=1,
    )
    server = ThreadedMotoServer(ip_address="localhost", port=port, verbose=False)
    server.start()
    url = f"http://localhost:{port}"
    _set_execution(url, True)
    cloud = Cloud(endpoint_url=url, state_dir=state_dir, bucket="local-sagemaker-tests")
    cloud.client("s3").create_bucket(Bucket=cloud.bucket)
    try:
        yield cloud
    finally:
        local_sagemaker.uninstall()
        _set_execution(url, False)
        server.stop()
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """Each test starts clean and leaves no job or endpoint process behind, even if it fails."""
    yield
    local_sagemaker.shutdown()


def _set_execution(url: str, enabled: bool) -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": enabled}}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
