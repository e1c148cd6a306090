"""Lambda's 6 MB synchronous response: 6,291,556 bytes come back, one byte more is an error."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient

from localcloud.awslambda.runtime import MAX_SYNC_RESPONSE_BYTES
from tests.localcloud.helpers import lambda_role, zip_of

# The handler answers a JSON string of exactly event["size"] bytes (its quotes included).
HANDLER = """
def handler(event, context):
    return "x" * (event["size"] - 2)
"""


@pytest.fixture(scope="module")
def function(aws: Callable[[str], BaseClient]) -> str:
    role = lambda_role(aws("iam"), f"fn-{uuid.uuid4().hex[:8]}")
    name = f"limits-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zip_of({"index.py": HANDLER})},
        Timeout=30,
    )
    return name


def invoke(aws: Callable[[str], BaseClient], function: str, size: int) -> tuple[str | None, bytes]:
    response = aws("lambda").invoke(FunctionName=function, Payload=json.dumps({"size": size}))
    return response.get("FunctionError"), response["Payload"].read()


def test_a_response_of_6291556_bytes_is_returned(
    aws: Callable[[str], BaseClient], function: str
) -> None:
    error, payload = invoke(aws, function, MAX_SYNC_RESPONSE_BYTES)
    assert error is None
    assert len(payload) == MAX_SYNC_RESPONSE_BYTES


def test_a_larger_response_fails_the_invocation_as_lambda_reports_it(
    aws: Callable[[str], BaseClient], function: str
) -> None:
    error, payload = invoke(aws, function, MAX_SYNC_RESPONSE_BYTES + 1)
    assert error == "Unhandled"
    assert json.loads(payload) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 "
        "bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
