"""Sends the evaluation prompts to a SageMaker endpoint: bounded concurrency, retries.

boto3's ``sagemaker-runtime`` ``invoke_endpoint``, so the same code runs against AWS and
against the local cloud (``AWS_ENDPOINT_URL`` or ``endpoint_url``). Throttling, 5xx, a model
not ready yet and timeouts are retried with exponential backoff and jitter; a 4xx from the
model is the sample's answer (an error) and is not retried.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

RETRYABLE_CODES = {
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalDependencyException",
    "ModelNotReadyException",
}
TRANSIENT_ERRORS = (
    ReadTimeoutError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ConnectionClosedError,
)


@dataclass
class Answer:
    """What one request came back with."""

    text: str | None
    completion_tokens: int
    latency_s: float
    attempts: int
    error: str | None


def make_client(region: str, endpoint_url: str | None, timeout_s: float, pool: int):
    """A ``sagemaker-runtime`` client; retries are ours, so botocore makes one attempt."""
    config = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=timeout_s,
        max_pool_connections=max(pool, 10),
    )
    # A session of its own: boto3's default session is not safe to create clients from in
    # several threads, and the evaluation asks two endpoints at once.
    return boto3.session.Session().client(
        "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config
    )


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if not isinstance(exc, ClientError):
        return False
    response = exc.response
    if response.get("Error", {}).get("Code") in RETRYABLE_CODES:
        return True
    status = response.get("OriginalStatusCode") or response.get("ResponseMetadata", {}).get(
        "HTTPStatusCode", 0
    )
    return int(status) == 429 or int(status) >= 500


def _parse(raw: bytes) -> tuple[str, int]:
    try:
        body = json.loads(raw)
        text = body["choices"][0]["message"]["content"]
        tokens = int(body.get("usage", {}).get("completion_tokens", 0))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"response is not a chat completion: {raw[:200]!r}") from exc
    if not isinstance(text, str):
        raise ValueError("response choices[0].message.content is not a string")
    return text, tokens


class EndpointCaller:
    """Calls one endpoint with the chat request of the endpoint contract."""

    def __init__(
        self,
        client,
        endpoint_name: str,
        max_tokens: int,
        max_attempts: int = 6,
        backoff_s: float = 0.5,
    ) -> None:
        self.client = client
        self.endpoint_name = endpoint_name
        self.max_tokens = max_tokens
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s

    def ask(self, messages: list[dict[str, str]]) -> Answer:
        """One greedy answer, retried on transient failures."""
        body = json.dumps({"messages": messages, "max_tokens": self.max_tokens, "temperature": 0})
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                response = self.client.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    ContentType="application/json",
                    Accept="application/json",
                    Body=body,
                )
                text, tokens = _parse(response["Body"].read())
                return Answer(text, tokens, time.perf_counter() - started, attempt, None)
            except Exception as exc:
                if attempt < self.max_attempts and _retryable(exc):
                    cap = self.backoff_s * 2 ** (attempt - 1)
                    time.sleep(min(10.0, random.uniform(cap / 2, cap)))
                    continue
                return Answer(None, 0, time.perf_counter() - started, attempt, _describe(exc))
        raise AssertionError("unreachable: the last attempt returns")


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = exc.response.get("OriginalMessage") or error.get("Message") or ""
        return f"{error.get('Code', 'ClientError')}: {message}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def ask_all(
    caller: EndpointCaller,
    prompts: list[list[dict[str, str]]],
    concurrency: int,
    progress: Callable[[int, int, int], None] | None = None,
) -> tuple[list[Answer], float]:
    """Every prompt's answer, in order, and the wall-clock seconds the whole run took."""
    done = failed = 0
    lock = threading.Lock()

    def one(messages: list[dict[str, str]]) -> Answer:
        nonlocal done, failed
        answer = caller.ask(messages)
        with lock:
            done += 1
            failed += answer.error is not None
            if progress is not None:
                progress(done, failed, len(prompts))
        return answer

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(one, prompts))
    return answers, time.perf_counter() - started
