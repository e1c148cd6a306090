"""The pipeline's smoke test script: what it accepts and what it refuses."""

from __future__ import annotations

import json
import re

import pytest
from endpoint_contract import chat_response

from stacks.pipeline import smoke_test

GOOD = chat_response("model", "Hello!", "stop", prompt_tokens=21, completion_tokens=3)


def _body(answer: dict) -> bytes:
    return json.dumps(answer).encode()


def test_the_contracts_own_response_passes():
    """What the local server and LMI answer (endpoint_contract) is what the smoke test wants."""
    assert smoke_test.check_response(200, _body(GOOD))["choices"][0]["message"]["content"] == (
        "Hello!"
    )


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b'{"error": "boom"}', "HTTP 500"),
        (200, b"<html>", "not JSON"),
        (200, _body({"choices": []}), "no choices[0].message.content or usage"),
        (200, _body({**GOOD, "choices": [{"message": {"content": ""}}]}), "not generated text"),
        (200, _body({**GOOD, "choices": [{"message": {"content": None}}]}), "not generated text"),
        (200, _body({**GOOD, "usage": {"prompt_tokens": 3}}), "usage.completion_tokens"),
        (
            200,
            _body({**GOOD, "usage": {"prompt_tokens": 3, "completion_tokens": 99}}),
            "more than max_tokens (16)",
        ),
    ],
)
def test_broken_answers_fail_with_the_reason(status, body, reason):
    with pytest.raises(smoke_test.SmokeTestError, match=re.escape(reason)):
        smoke_test.check_response(status, body)


class _Runtime:
    """A sagemaker-runtime client stand-in that records the call."""

    class exceptions:  # botocore's attribute name
        class ModelError(Exception):
            def __init__(self, response: dict) -> None:
                super().__init__("model error")
                self.response = response

    def __init__(self, answer: bytes | None = None, error: dict | None = None) -> None:
        self.answer, self.error, self.calls = answer, error, []

    def invoke_endpoint(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.exceptions.ModelError(self.error)

        class _Stream:
            def read(inner) -> bytes:
                return self.answer

        return {"Body": _Stream()}


def test_invoke_posts_a_chat_body_to_the_named_endpoint():
    runtime = _Runtime(answer=_body(GOOD))
    assert smoke_test.invoke(runtime, "Staging-endpoint") == (200, _body(GOOD))
    (call,) = runtime.calls
    assert call["EndpointName"] == "Staging-endpoint"
    assert call["ContentType"] == "application/json"
    request = json.loads(call["Body"])
    assert request["messages"][-1]["role"] == "user"
    assert request["max_tokens"] == 16 and request["temperature"] == 0


def test_a_model_error_is_reported_with_the_containers_status():
    runtime = _Runtime(error={"OriginalStatusCode": 424, "OriginalMessage": "load failed"})
    status, body = smoke_test.invoke(runtime, "Staging-endpoint")
    assert status == 424
    with pytest.raises(smoke_test.SmokeTestError, match="HTTP 424"):
        smoke_test.check_response(status, body)
