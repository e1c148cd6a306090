"""The endpoint contract, over real HTTP, against the local server on the tiny model."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import chat_format
import pytest
from botocore.config import Config
from transformers import AutoTokenizer

from .http_helpers import call

BATCH_LINE = re.compile(r"generated a batch of (\d+)")
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "How many rows are in table t?"},
]


def invoke(server, body=None, raw=None):
    return call(f"{server.url}/invocations", body, raw=raw)


def test_ping_answers_200_once_loaded(tiny_server):
    assert call(f"{tiny_server.url}/ping", method="GET") == (
        200,
        {"status": "ready", "generating": 0},
    )


def test_good_request_gets_a_chat_completion_with_usage(tiny_server, tiny_model):
    status, body = invoke(tiny_server, {"messages": MESSAGES, "max_tokens": 5, "temperature": 0})
    assert status == 200, body
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    # prompt_tokens counts exactly the prompt that chat_format builds for training.
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    prompt = chat_format.render_prompt(tokenizer, MESSAGES)
    expected_prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    usage = body["usage"]
    assert usage["prompt_tokens"] == expected_prompt_tokens
    assert 1 <= usage["completion_tokens"] <= 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_max_tokens_bounds_the_answer(tiny_server):
    status, body = invoke(tiny_server, {"messages": MESSAGES, "max_tokens": 3, "temperature": 0})
    assert status == 200
    # The random tiny model never emits its end token early, so it runs to the limit.
    assert body["usage"]["completion_tokens"] == 3
    assert body["choices"][0]["finish_reason"] == "length"


def test_temperature_zero_is_greedy_and_repeatable(tiny_server):
    request = {"messages": MESSAGES, "max_tokens": 6, "temperature": 0}
    first, second = invoke(tiny_server, request)[1], invoke(tiny_server, request)[1]
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


def test_stop_sequence_ends_generation_early(tiny_server):
    free = invoke(tiny_server, {"messages": MESSAGES, "max_tokens": 8, "temperature": 0})[1]
    text = free["choices"][0]["message"]["content"]
    assert text, "the tiny model produced nothing to stop on"
    stop = text[0]
    status, body = invoke(
        tiny_server, {"messages": MESSAGES, "max_tokens": 8, "temperature": 0, "stop": [stop]}
    )
    assert status == 200
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == text[: text.find(stop)]
    assert body["usage"]["completion_tokens"] < free["usage"]["completion_tokens"]


def test_sampling_with_temperature_answers(tiny_server):
    status, body = invoke(
        tiny_server, {"messages": MESSAGES, "max_tokens": 4, "temperature": 0.8, "top_p": 0.9}
    )
    assert status == 200
    assert body["usage"]["completion_tokens"] <= 4


def test_unknown_fields_are_ignored(tiny_server):
    request = {"messages": MESSAGES, "max_tokens": 2, "model": "anything", "user": "me", "x": [1]}
    status, body = invoke(tiny_server, request)
    assert status == 200
    assert body["usage"]["completion_tokens"] <= 2


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b'{"messages": [', None, "not valid JSON"),
        (b"\xff\xfe", None, "not valid JSON"),
        (b"[1, 2]", None, "must be a JSON object"),
        (b'{"max_tokens": 5}', "messages", "is required"),
        (b'{"messages": []}', "messages", "must not be empty"),
        (b'{"messages": "hi"}', "messages", "must be a list"),
        (b'{"messages": [{"role": "robot", "content": "x"}]}', "messages[0].role", "one of"),
        (b'{"messages": [{"role": "user", "content": 3}]}', "messages[0].content", "string"),
        (
            b'{"messages": [{"role": "user", "content": "hi \\ud800"}]}',
            "messages[0].content",
            "lone",
        ),
        pytest.param(
            '{"messages": [{"role": "user", "content": "x"}]}'.encode("utf-16"),
            None,
            "not UTF-8",
            id="utf-16",
        ),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', "max_tokens", ""),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}', "max_tokens", ""),
        (b'{"messages": [{"role": "user", "content": "x"}], "temperature": -1}', "temperature", ""),
        (b'{"messages": [{"role": "user", "content": "x"}], "stop": [""]}', "stop", ""),
        (b'{"messages": [{"role": "user", "content": "x"}], "stream": true}', "stream", ""),
        (b'{"messages": [{"role": "user", "content": "x"}], "n": 2}', "n", ""),
        # Python refuses to convert integers over 4300 digits, and json.loads recurses once
        # per nesting level: both used to escape as 500s.
        (b'{"max_tokens": 1' + b"0" * 5000 + b"}", None, "(4300 digits)"),
        (b"[" * 100_000, None, "nested too deeply"),
    ],
)
def test_bad_requests_get_400_saying_what_is_wrong(tiny_server, raw, field, words):
    status, body = invoke(tiny_server, raw=raw)
    assert status == 400, body
    assert body["error"]["code"] == 400
    assert words in body["error"]["message"]
    assert body["error"].get("field") == field


def test_too_many_tokens_gets_400_with_the_numbers(tiny_server):
    status, body = invoke(tiny_server, {"messages": MESSAGES, "max_tokens": 5000})
    assert status == 400
    assert body["error"]["type"] == "context_length_exceeded"
    assert "2048" in body["error"]["message"] and body["error"]["field"] == "max_tokens"
    long_messages = [{"role": "user", "content": "word " * 3000}]
    status, body = invoke(tiny_server, {"messages": long_messages, "max_tokens": 10})
    assert status == 400
    assert body["error"]["field"] == "messages"


def test_wrong_method_and_unknown_path(tiny_server):
    assert call(f"{tiny_server.url}/invocations", method="GET")[0] == 405
    assert call(f"{tiny_server.url}/ping", {"x": 1})[0] == 405
    status, body = call(f"{tiny_server.url}/nope", {"messages": MESSAGES})
    assert status == 404 and "/nope" in body["error"]["message"]


def post_without_content_length(server, path: str) -> tuple[int, str | None, dict]:
    """A POST with no Content-Length header: the status, the Allow header and the error."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest("POST", path)  # unlike request(), adds no Content-Length
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers["Allow"], json.loads(response.read())["error"]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "status", "allow"), [("/ping", 405, "GET, HEAD"), ("/nope", 404, None)]
)
def test_post_elsewhere_without_content_length_gets_405_or_404_not_411(
    tiny_server, path, status, allow
):
    got, got_allow, error = post_without_content_length(tiny_server, path)
    assert (got, error["code"], got_allow) == (status, status, allow)
    assert path in error["message"]


def test_post_invocations_without_content_length_still_gets_411(tiny_server):
    status, _, error = post_without_content_length(tiny_server, "/invocations")
    assert status == 411 and "Content-Length" in error["message"]


def test_a_tiny_temperature_answers_like_greedy(tiny_server):
    request = {"messages": MESSAGES, "max_tokens": 4, "temperature": 0}
    status, greedy = invoke(tiny_server, request)
    status_tiny, tiny = invoke(tiny_server, {**request, "temperature": 1e-40})
    assert (status, status_tiny) == (200, 200), tiny
    assert tiny["choices"][0]["message"] == greedy["choices"][0]["message"]


def raw_request(
    server, method: str, path: str, body: bytes | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Any method, unlike urllib's helpers: the status, headers and raw body (maybe empty)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/invocations", "POST"),
        ("DELETE", "/endpoints/any-name/invocations", "POST"),
        ("OPTIONS", "/invocations", "POST"),
        ("PATCH", "/ping", "GET, HEAD"),
        ("DELETE", "/ping", "GET, HEAD"),
        ("BREW", "/ping", "GET, HEAD"),  # not an HTTP method at all: still the client's error
    ],
)
def test_other_methods_get_a_json_405_naming_the_allowed_ones(tiny_server, method, path, allow):
    body = json.dumps({"messages": MESSAGES}).encode() if method != "DELETE" else None
    status, headers, data = raw_request(tiny_server, method, path, body)
    assert status == 405, data
    assert headers["Content-Type"] == "application/json" and headers["Allow"] == allow
    error = json.loads(data)["error"]
    assert error["code"] == 405 and error["type"] == "invalid_request_error"
    assert method in error["message"] and allow in error["message"]


def test_unknown_path_with_another_method_gets_json_404(tiny_server):
    status, headers, data = raw_request(tiny_server, "PUT", "/nope", b"{}")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert "/nope" in json.loads(data)["error"]["message"]


def test_head_answers_like_get_without_a_body(tiny_server):
    status, headers, data = raw_request(tiny_server, "HEAD", "/ping")
    assert (status, data) == (200, b"")
    assert headers["Content-Type"] == "application/json"
    status, headers, data = raw_request(tiny_server, "HEAD", "/invocations")
    assert (status, data, headers["Allow"]) == (405, b"", "POST")


def test_body_shorter_than_its_content_length_gets_400_saying_so(tiny_server):
    url = urlsplit(tiny_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as client:
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"messages"'
        )
        client.shutdown(socket.SHUT_WR)  # the body ends after 11 bytes
        response = http.client.HTTPResponse(client)
        response.begin()
        error = json.loads(response.read())["error"]
    assert response.status == 400 and error["code"] == 400
    assert "ended after 11 of the 100 bytes" in error["message"]


def test_32_concurrent_clients_all_get_answers(tiny_server):
    def one(i: int) -> tuple[int, dict]:
        messages = [{"role": "user", "content": f"Question number {i}?"}]
        return invoke(tiny_server, {"messages": messages, "max_tokens": 4, "temperature": 0})

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(32)))
    assert [status for status, _ in results] == [200] * 32
    assert all(1 <= body["usage"]["completion_tokens"] <= 4 for _, body in results)
    # The batching worker grouped them: some generate call served more than one request.
    assert max(_batch_sizes(tiny_server)) > 1


def _batch_sizes(server) -> list[int]:
    for _ in range(50):  # the server's output is read by a thread: give it a moment
        sizes = [int(m.group(1)) for m in map(BATCH_LINE.search, list(server.output)) if m]
        if sizes and max(sizes) > 1:
            return sizes
        time.sleep(0.1)
    return sizes or [0]


def test_boto3_sagemaker_runtime_reaches_the_server_directly(tiny_server):
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=tiny_server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    response = client.invoke_endpoint(
        EndpointName="any-name",
        ContentType="application/json",
        Body=json.dumps({"messages": MESSAGES, "max_tokens": 2, "temperature": 0}),
    )
    body = json.loads(response["Body"].read())
    assert body["usage"]["completion_tokens"] <= 2


def test_evaluation_job_runs_against_the_local_server(tiny_server, tmp_path):
    records = [
        {
            "question": f"How many ships are there? ({i})",
            "context": "CREATE TABLE ships (n TEXT)",
            "answer": "SELECT COUNT(*) FROM ships",
        }
        for i in range(3)
    ]
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    lines = [json.dumps(chat_format.normalise_record(r)) for r in records]
    (test_dir / "test.jsonl").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    result = subprocess.run(
        [
            sys.executable,
            "evaluation.py",
            "--test-dir",
            str(test_dir),
            "--output-dir",
            str(tmp_path / "out"),
            "--endpoint-name",
            "tiny",
            "--endpoint-url",
            tiny_server.url,
            "--max-tokens",
            "4",
            "--concurrency",
            "3",
        ],
        cwd=Path(chat_format.__file__).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["metrics"]["samples"] == 3 and report["metrics"]["errors"] == 0
    assert report["metrics"]["completion_tokens"] <= 12
    assert report["gate"]["passed"] is False  # a random model does not write SQL
