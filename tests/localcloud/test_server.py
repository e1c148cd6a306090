"""Starting, finding and stopping the local cloud; nothing it started may outlive it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from localcloud.processes import alive
from localcloud.server import STATE_FILE, find, start
from tests.localcloud.helpers import lambda_role, zip_of

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SLOW_HANDLER = """
import os, time, boto3
def handler(event, context):
    boto3.client("s3").put_object(Bucket=event["bucket"], Key="pid", Body=str(os.getpid()))
    time.sleep(120)
"""


def wait_until_dead(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def test_env_points_clients_at_the_cloud(local_cloud) -> None:
    env = local_cloud.env()
    assert env["AWS_ENDPOINT_URL"] == f"http://localhost:{local_cloud.port}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    # A client configured only by this environment reaches the cloud, in the expected account.
    identity = subprocess.run(
        [
            sys.executable,
            "-c",
            "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])",
        ],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert identity.stdout.strip() == local_cloud.account_id == "123456789012"


def test_stop_ends_the_server_and_a_running_lambda(tmp_path: Path) -> None:
    cloud = start(state_dir=tmp_path)
    try:
        assert find(tmp_path) == cloud
        with pytest.raises(RuntimeError, match="already runs"):
            start(state_dir=tmp_path)
        env = cloud.env()
        kwargs = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": cloud.region}
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        s3, lam = boto3.client("s3", **kwargs), boto3.client("lambda", **kwargs)
        role = lambda_role(boto3.client("iam", **kwargs), "slow")
        s3.create_bucket(Bucket="pids")
        lam.create_function(
            FunctionName="slow",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": zip_of({"index.py": SLOW_HANDLER})},
            Timeout=300,
        )
        payload = json.dumps({"bucket": "pids"})
        invoker = threading.Thread(
            target=lambda: _ignore_errors(lambda: lam.invoke(FunctionName="slow", Payload=payload)),
            daemon=True,
        )
        invoker.start()
        handler_pid = _wait_for_pid(s3)
        assert alive(handler_pid)
    finally:
        cloud.stop()
    assert wait_until_dead(cloud.pid)
    assert wait_until_dead(handler_pid)
    assert not (tmp_path / STATE_FILE).exists()
    assert find(tmp_path) is None


def _ignore_errors(call) -> None:
    with contextlib.suppress(Exception):  # the server goes away mid-call: that is the point
        call()


def _wait_for_pid(s3) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return int(s3.get_object(Bucket="pids", Key="pid")["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.2)
    raise AssertionError("the Lambda handler never wrote its pid")


def test_server_stops_itself_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import time\nfrom localcloud.server import start\n"
        f"cloud = start(state_dir={str(tmp_path)!r})\n"
        "print(cloud.pid, flush=True)\ntime.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    assert alive(server_pid)
    parent.send_signal(signal.SIGKILL)  # no cleanup code of the parent runs
    parent.wait()
    assert wait_until_dead(server_pid, timeout_s=15)
    assert "parent process" in (tmp_path / "server.log").read_text()


def test_busy_port_is_reported_with_the_log(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match="Address already in use"):
            start(port=port, state_dir=tmp_path)


def test_command_line_start_status_stop(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "localcloud", *args, "--state-dir", str(tmp_path)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = cli("start")
    assert started.returncode == 0, started.stderr
    assert "local cloud at http://localhost:" in started.stdout
    status = cli("status")
    assert status.returncode == 0
    server_pid = json.loads(status.stdout)["pid"]
    exports = cli("env").stdout
    assert f"export AWS_ENDPOINT_URL={json.loads(status.stdout)['endpoint_url']}" in exports
    assert cli("stop").returncode == 0
    assert wait_until_dead(server_pid)
    assert cli("status").returncode == 1


def test_deploying_a_folder_without_a_cdk_app_is_one_line(tmp_path: Path) -> None:
    from localcloud.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(["deploy", str(tmp_path / "nowhere"), "--state-dir", str(tmp_path)])
    assert stopped.value.code == (
        f"{tmp_path / 'nowhere'}: no cdk.json here; give the folder of the CDK app to deploy"
    )
