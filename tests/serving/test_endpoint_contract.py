"""Request parsing defaults and the response shape (pure functions, no server)."""

from __future__ import annotations

import json

import pytest
from endpoint_contract import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ContractError,
    chat_response,
    check_length,
    parse_request,
)


def test_defaults_and_a_single_stop_string():
    messages = [{"role": "user", "content": "x"}]
    request = parse_request(json.dumps({"messages": messages, "stop": "\n"}).encode())
    assert request.max_tokens == DEFAULT_MAX_TOKENS
    assert request.temperature == DEFAULT_TEMPERATURE and not request.greedy
    assert request.stop == ("\n",)
    greedy = {"messages": messages, "temperature": 0}
    assert parse_request(json.dumps(greedy).encode()).greedy


def test_context_check_names_the_culprit():
    check_length(10, 10, 20)  # fits exactly
    with pytest.raises(ContractError) as caught:
        check_length(15, 10, 20)
    assert caught.value.status == 400 and caught.value.field == "messages"
    assert "20 tokens" in caught.value.message and "25 were requested" in caught.value.message


def test_response_shape_and_usage():
    body = chat_response("m", "SELECT 1", "stop", prompt_tokens=7, completion_tokens=3)
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "SELECT 1"}
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert body["id"].startswith("chatcmpl-")
