"""The endpoint contract: what ``POST /invocations`` accepts and what it answers.

A chat-completions subset, the one the LMI/vLLM container speaks natively, so the local
server and the GPU endpoint are interchangeable (docs/serving.md is the prose version).
This module is pure: no model, no HTTP; the server calls it on both sides of generation.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from contracts.chat import MessageError, each_message

DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 1.0
MAX_STOP_SEQUENCES = 4
# A temperature below this decodes greedily, as vLLM's _SAMPLING_EPS: dividing the logits by
# 1e-40 gave inf and nan, and sampling from them raised (a 500).
GREEDY_BELOW_TEMPERATURE = 1e-5
# SageMaker real-time endpoints take payloads up to 6 MB; the local server refuses more too.
MAX_BODY_BYTES = 6 * 1024 * 1024


class ContractError(Exception):
    """A request the endpoint refuses; carries the HTTP status and the field at fault."""

    def __init__(
        self, status: int, message: str, field: str | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict[str, Any]:
        """The JSON error document sent to the client."""
        error: dict[str, Any] = {"code": self.status, "type": self.kind, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


@dataclass(frozen=True)
class ChatRequest:
    """A validated request; unknown fields of the body were ignored."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]

    @property
    def greedy(self) -> bool:
        """Temperature 0 (or under 1e-5) means greedy decoding, as with the OpenAI API and vLLM."""
        return self.temperature < GREEDY_BELOW_TEMPERATURE


def _invalid(field: str, message: str) -> ContractError:
    return ContractError(400, f"'{field}' {message}", field=field)


def _invalid_json(problem: str) -> ContractError:
    return ContractError(400, f"request body is not valid JSON: {problem}", kind="invalid_json")


def _number(body: dict[str, Any], field: str, default: float, low: float, high: float) -> float:
    value = body.get(field, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(field, f"must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise _invalid(field, f"must be between {low} and {high}, got {value}")
    return float(value)


def _unicode(field: str, text: str) -> str:
    """Refuses text that is not valid Unicode, naming the field.

    JSON's ``\\ud800`` escape spells half of a surrogate pair, which no UTF-8 text holds:
    the tokenizer raised TypeError on it (a 500).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(
            field,
            f"is not valid Unicode: lone surrogate U+{ord(text[exc.start]):04X} at "
            f"character {exc.start} (a \\uD800-\\uDFFF escape without its other half)",
        ) from None
    return text


def _messages(value: Any) -> list[dict[str, str]]:
    if value is None:
        raise _invalid("messages", "is required: a list of {'role', 'content'} objects")
    if not isinstance(value, list):
        raise _invalid("messages", f"must be a list, got {type(value).__name__}")
    if not value:
        raise _invalid("messages", "must not be empty")
    checked = []
    try:
        for where, role, content in each_message(value):
            checked.append({"role": role, "content": _unicode(f"{where}.content", content)})
    except MessageError as error:
        raise _invalid(error.field, error.problem) from None
    return checked


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise _invalid("stop", "must be a non-empty string or a list of non-empty strings")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise _invalid("stop", f"takes at most {MAX_STOP_SEQUENCES} sequences")
    return tuple(_unicode("stop", s) for s in stops)


def parse_request(raw: bytes) -> ChatRequest:
    """Validates a request body.

    Raises:
        ContractError: 400 naming what is wrong (bad JSON, missing or empty ``messages``,
            out-of-range parameters, unsupported options).
    """
    try:
        # UTF-8 only, as JSON on the wire must be (RFC 8259); json.loads would take bytes in
        # UTF-16 or UTF-32 too. A UTF-8 byte-order mark is allowed, as json.loads allowed it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid_json(f"not UTF-8 ({exc})") from exc
    try:
        body = json.loads(text)
    except RecursionError as exc:  # thousands of nested arrays or objects
        raise _invalid_json("arrays or objects are nested too deeply") from exc
    except ValueError as exc:
        # JSONDecodeError, and an integer over Python's 4300-digit limit, whose message
        # ends advising a server setting the client cannot change.
        raise _invalid_json(str(exc).partition("; use sys.set_int_max_str_digits")[0]) from exc
    if not isinstance(body, dict):
        raise ContractError(400, f"request body must be a JSON object, got {type(body).__name__}")
    if body.get("stream"):
        raise _invalid("stream", "is not supported: responses are returned whole")
    if body.get("n", 1) != 1:
        raise _invalid("n", "must be 1: one choice per request")
    messages = _messages(body.get("messages"))
    max_tokens = body.get("max_tokens", DEFAULT_MAX_TOKENS)
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _invalid("max_tokens", f"must be a positive integer, got {max_tokens!r}")
    temperature = _number(body, "temperature", DEFAULT_TEMPERATURE, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0.0:
        raise _invalid("top_p", "must be greater than 0")
    return ChatRequest(messages, max_tokens, temperature, top_p, _stop(body.get("stop")))


def check_length(prompt_tokens: int, max_tokens: int, max_model_len: int) -> None:
    """Refuses a request whose prompt plus ``max_tokens`` does not fit the context.

    Raises:
        ContractError: 400 with the numbers, the way vLLM words it.
    """
    if prompt_tokens + max_tokens > max_model_len:
        raise ContractError(
            400,
            f"this model's maximum context length is {max_model_len} tokens, but "
            f"{prompt_tokens + max_tokens} were requested ({prompt_tokens} in the messages, "
            f"{max_tokens} in max_tokens): shorten the messages or lower max_tokens",
            field="max_tokens" if max_tokens >= max_model_len else "messages",
            kind="context_length_exceeded",
        )


def chat_response(
    model: str, content: str, finish_reason: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """The response body, shaped like OpenAI's (and LMI's) chat completion."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
