"""Start-up, readiness and shutdown of the local server, as the local cloud will see them."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from local_server import LocalServer
from server_launcher import SERVER_SCRIPT, LocalServerProcess, ServerStartError

from .http_helpers import call

MESSAGES = [{"role": "user", "content": "Tell me a long story."}]


def test_port_opens_early_then_ready_then_sigterm_drains_requests_in_flight(tiny_model):
    server = LocalServerProcess.start(tiny_model)
    try:
        # Loading torch and the model takes seconds; the port is already open meanwhile.
        assert server.ping() == 503
        status, body = call(f"{server.url}/invocations", {"messages": MESSAGES})
        assert status == 503 and "loading" in body["error"]["message"]
        server.wait_ready(timeout=120)

        answers: list[tuple[int, dict]] = []
        long_request = {"messages": MESSAGES, "max_tokens": 1500, "temperature": 0}
        client = threading.Thread(
            target=lambda: answers.append(call(f"{server.url}/invocations", long_request))
        )
        client.start()
        _wait_until_generating(server.url)  # the signal arrives mid-generation
        exit_code = server.stop(timeout=60)
        client.join(timeout=60)
    finally:
        server.stop()
    assert exit_code == 0, list(server.output)
    assert answers and answers[0][0] == 200, answers
    assert answers[0][1]["usage"]["completion_tokens"] == 1500  # the whole answer, not cut
    output = list(server.output)
    # The signal came while the request was being generated: its access-log line is later.
    answered = next(
        i for i, line in enumerate(output) if '"POST /invocations' in line and " 200 " in line
    )
    assert output.index("shutting down: finishing requests in progress") < answered
    assert output[-1] == "stopped"
    assert server.ping() == 0  # the port is closed


def _wait_until_generating(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
            if json.load(response)["generating"] > 0:
                return
        time.sleep(0.005)
    raise AssertionError(f"no request was being generated within {timeout} s")


def test_stalled_clients_get_400_and_do_not_hold_up_shutdown():
    # In process with a 1 s socket timeout (30 s in the real server), no model needed: the
    # body is read before the model is used. main() shuts down exactly like this after
    # SIGTERM, and server_close() joins every handler thread.
    server = LocalServer(("127.0.0.1", 0), "no-model", request_timeout=1.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    stalled = socket.create_connection((host, port), timeout=30)
    silent = socket.create_connection((host, port), timeout=30)  # connects, sends nothing
    try:
        stalled.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"messages"'
        )  # 11 of the 100 bytes, and the socket stays open
        # Connections are accepted in order: once /ping answers, both are being handled.
        assert call(f"http://{host}:{port}/ping", method="GET") == (503, {"status": "loading"})
        closer = threading.Thread(
            target=lambda: (server.shutdown(), server.server_close()), daemon=True
        )
        closer.start()
        closer.join(timeout=15)  # without the socket timeout it would wait for ever
        assert not closer.is_alive(), "shutdown still waits on the stalled clients"
        response = http.client.HTTPResponse(stalled)
        response.begin()
        error = json.loads(response.read())["error"]
        assert response.status == 400
        assert "stalled: 11 of the 100 bytes" in error["message"], error
    finally:
        stalled.close()
        silent.close()


def test_missing_model_dir_exits_2_naming_it(tmp_path):
    missing = tmp_path / "no-model-here"
    result = subprocess.run(
        [sys.executable, str(SERVER_SCRIPT), "--model-dir", str(missing), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr and "config.json" in result.stderr


def test_model_that_cannot_load_exits_1_with_the_reason(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    server = LocalServerProcess.start(tmp_path)
    with pytest.raises(ServerStartError, match="failed to load the model"):
        server.wait_ready(timeout=120)
    assert server.process.wait(timeout=30) == 1
