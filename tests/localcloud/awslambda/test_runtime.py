"""Python Lambda functions run for real in the local cloud, without Docker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient

from localcloud.processes import alive
from localcloud.server import LocalCloud
from tests.localcloud.helpers import lambda_role, zip_of

HANDLER = """
import json, os, subprocess, time
import boto3

def handler(event, context):
    if event.get("fail"):
        raise PermissionError("no access to " + event["fail"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    background = subprocess.Popen(["sleep", "300"])  # left running: the invocation must end it
    boto3.client("s3").put_object(Bucket=event["bucket"], Key="seen", Body=json.dumps(event))
    return {
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "region": os.environ["AWS_REGION"],
        "greeting": os.environ["GREETING"],
        "background_pid": background.pid,
    }
"""


@pytest.fixture(scope="module")
def function(aws: Callable[[str], BaseClient]) -> str:
    role = lambda_role(aws("iam"), f"fn-{uuid.uuid4().hex[:8]}")
    name = f"runtime-test-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zip_of({"index.py": HANDLER})},
        Timeout=1,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    return name


def invoke(aws: Callable[[str], BaseClient], name: str, event: dict) -> tuple[str | None, dict]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_handler_runs_with_the_local_cloud_in_its_environment(
    aws: Callable[[str], BaseClient], local_cloud: LocalCloud, function: str
) -> None:
    bucket = f"runtime-{uuid.uuid4().hex[:8]}"
    aws("s3").create_bucket(Bucket=bucket)
    error, payload = invoke(aws, function, {"bucket": bucket, "n": 1})

    assert error is None
    assert payload["endpoint"] == local_cloud.endpoint_url
    assert (payload["region"], payload["greeting"]) == ("us-east-1", "hello")
    seen = aws("s3").get_object(Bucket=bucket, Key="seen")["Body"].read()
    assert json.loads(seen) == {"bucket": bucket, "n": 1}
    assert not alive(payload["background_pid"])  # ended with the invocation


def test_exception_is_a_function_error_with_its_type(
    aws: Callable[[str], BaseClient], function: str
) -> None:
    error, payload = invoke(aws, function, {"fail": "s3://secret"})
    assert error == "Unhandled"
    assert payload["errorType"] == "PermissionError"
    assert payload["errorMessage"] == "no access to s3://secret"


def test_timeout_is_enforced(aws: Callable[[str], BaseClient], function: str) -> None:
    started = time.monotonic()
    error, payload = invoke(aws, function, {"sleep": 60})
    assert error is not None
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert time.monotonic() - started < 15


def test_logs_reach_cloudwatch(aws: Callable[[str], BaseClient], function: str) -> None:
    invoke(aws, function, {"fail": "logs"})
    logs = aws("logs")
    group = f"/aws/lambda/{function}"
    messages = [
        event["message"]
        for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
            "events"
        ]
    ]
    assert any("[ERROR] PermissionError: no access to logs" in m for m in messages)


def test_non_python_function_fails_clearly(aws: Callable[[str], BaseClient]) -> None:
    role = lambda_role(aws("iam"), f"node-{uuid.uuid4().hex[:8]}")
    name = f"node-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zip_of({"index.js": "exports.handler = async () => 1;"})},
    )
    error, payload = invoke(aws, name, {})
    assert error is not None
    assert payload["errorType"] == "Runtime.Unsupported"
    assert "Python zip functions only" in payload["errorMessage"]
