"""Which failures the evaluation client retries, and how it reads answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from eval_client import _parse, _retryable


def _error(code: str, http: int = 400, original: int | None = None) -> ClientError:
    response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": http}}
    if original is not None:
        response["OriginalStatusCode"] = original
    return ClientError(response, "InvokeEndpoint")


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_error("ThrottlingException"), True),
        (_error("ServiceUnavailable", 503), True),
        (_error("ModelNotReadyException"), True),
        (_error("ModelError", 424, original=503), True),  # the container failed: try again
        (_error("ModelError", 424, original=429), True),
        (_error("ModelError", 424, original=400), False),  # the request is wrong: it stays wrong
        (_error("ValidationException"), False),
        (ReadTimeoutError(endpoint_url="http://x"), True),
        (ValueError("response is not a chat completion"), False),
    ],
)
def test_retry_policy(error, retried):
    assert _retryable(error) is retried


def test_parse_reads_the_contract_and_names_a_bad_response():
    body = b'{"choices": [{"message": {"content": "SELECT 1"}}], "usage": {"completion_tokens": 3}}'
    assert _parse(body) == ("SELECT 1", 3)
    with pytest.raises(ValueError, match="not a chat completion"):
        _parse(b'{"generated_text": "SELECT 1"}')
