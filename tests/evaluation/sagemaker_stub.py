"""A stand-in for SageMaker's runtime API whose answers are known in advance.

It serves ``POST /endpoints/{name}/invocations`` (the path boto3's ``invoke_endpoint`` uses)
with the endpoint contract's response, answering each prompt (keyed by its last user
message) from a script: a fixed answer, one throttling before answering, or a model error.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
THROTTLE_ONCE = "__throttle_once__"
MODEL_ERROR = "__model_error__"


class StubRuntime(ThreadingHTTPServer):
    """``script[endpoint][question]`` = the answer, or THROTTLE_ONCE/MODEL_ERROR + answer."""

    daemon_threads = True

    def __init__(self, script: dict[str, dict[str, str]], delay_s: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.delay_s = delay_s  # how long each answer takes
        self.calls: Counter[tuple[str, str]] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.spans: list[tuple[str, float, float]] = []  # (endpoint, started, answered)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> StubRuntime:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: StubRuntime

    def do_POST(self) -> None:
        started = time.monotonic()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        match = PATH.match(self.path)
        endpoint = match.group(1) if match else ""
        time.sleep(self.server.delay_s)
        try:
            self._answer(body, endpoint)
        finally:
            with self.server.lock:
                self.server.spans.append((endpoint, started, time.monotonic()))

    def _answer(self, body: dict[str, Any], endpoint: str) -> None:
        if endpoint not in self.server.script:
            self._send(400, {"message": f"Endpoint {endpoint} not found."}, "ValidationException")
            return
        question = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        with self.server.lock:
            self.server.calls[(endpoint, question)] += 1
            calls = self.server.calls[(endpoint, question)]
            self.server.bodies.append(body)
        answer = self.server.script[endpoint][question]
        if answer.startswith(THROTTLE_ONCE):
            if calls == 1:
                self._send(400, {"message": "Rate exceeded"}, "ThrottlingException")
                return
            answer = answer[len(THROTTLE_ONCE) :]
        if answer.startswith(MODEL_ERROR):
            error = {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "OriginalStatusCode": 400,
                "OriginalMessage": '{"error": {"message": "messages must not be empty"}}',
                "Message": "Received client error (400) from primary",
            }
            self._send(424, error, "ModelError")
            return
        tokens = len(answer.split())
        self._send(
            200,
            {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": tokens},
            },
        )

    def _send(self, status: int, body: dict[str, Any], error_type: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
