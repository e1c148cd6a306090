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


def _refusal(body: bytes) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_request(body)
    return caught.value


def test_a_lone_surrogate_in_content_or_stop_is_a_400_naming_the_field():
    # JSON escapes can spell half of a surrogate pair, which no UTF-8 text holds: the
    # tokenizer raised TypeError on it (a 500).
    lone = rb'{"messages": [{"role": "user", "content": "ok"}, '
    lone += rb'{"role": "user", "content": "hi \ud800"}]}'
    error = _refusal(lone)
    assert (error.status, error.field) == (400, "messages[1].content")
    assert "is not valid Unicode: lone surrogate U+D800" in error.message
    stop = rb'{"messages": [{"role": "user", "content": "x"}], "stop": ["a", "\udfff b"]}'
    error = _refusal(stop)
    assert (error.status, error.field) == (400, "stop")
    assert "is not valid Unicode: lone surrogate U+DFFF" in error.message
    # A whole pair is one character (U+1F600), valid as any other.
    pair = rb'{"messages": [{"role": "user", "content": "\ud83d\ude00"}], "stop": "\ud83d\ude00"}'
    request = parse_request(pair)
    assert request.messages[0]["content"] == "\U0001f600" and request.stop == ("\U0001f600",)


def test_temperature_below_1e_5_is_greedy_as_in_vllm():
    messages = [{"role": "user", "content": "x"}]
    for temperature in (1e-40, 5e-324, 9.9e-6):
        body = {"messages": messages, "temperature": temperature}
        assert parse_request(json.dumps(body).encode()).greedy, temperature
    body = {"messages": messages, "temperature": 1e-5}
    assert not parse_request(json.dumps(body).encode()).greedy


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_body_not_in_utf_8_is_invalid_json(encoding):
    text = json.dumps({"messages": [{"role": "user", "content": "x"}]})
    error = _refusal(text.encode(encoding))
    assert (error.status, error.kind, error.field) == (400, "invalid_json", None)
    # With a byte-order mark the bytes are not UTF-8; without one, ASCII text in UTF-16 is
    # UTF-8 with a NUL between characters, which is not JSON.
    assert ("not UTF-8" if encoding in ("utf-16", "utf-32") else "Expecting") in error.message


def test_a_utf_8_body_may_start_with_a_byte_order_mark():
    text = json.dumps({"messages": [{"role": "user", "content": "é"}]})
    assert parse_request(text.encode("utf-8-sig")).messages[0]["content"] == "é"
