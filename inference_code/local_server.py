"""The endpoint contract on CPU with transformers: what the local cloud runs for an endpoint.

    python inference_code/local_server.py --model-dir DIR --port 8080 [--host 127.0.0.1]
        [--max-batch-size 8] [--max-model-len N] [--device cpu] [--threads N]

The socket opens first and prints ``listening on http://HOST:PORT`` (``--port 0`` picks a
free port); ``GET /ping`` answers 503 until the model is loaded, then 200. ``POST
/invocations`` (also ``POST /endpoints/NAME/invocations``, the path boto3's
``sagemaker-runtime`` uses, so it can talk to this server directly) takes the chat request
described in docs/serving.md. SIGTERM or SIGINT: stop accepting, finish the batch in
progress, answer queued requests with 503, exit 0. A model that fails to load exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from endpoint_contract import MAX_BODY_BYTES, ContractError, chat_response, parse_request

INVOCATIONS = re.compile(r"^/(endpoints/[^/]+/)?invocations$")
# Every socket read or write of a handler gives up after this long. Without it a client
# that stops sending mid-request (a body shorter than its Content-Length, a connection
# opened and left silent) holds its thread forever, and shutdown joins every handler
# thread, so SIGTERM never ends the process. Generation does not count: while its request
# is generated a handler waits on the batch, not on the socket.
REQUEST_TIMEOUT_S = 30.0


class LocalServer(ThreadingHTTPServer):
    """The HTTP server plus the state its handlers share."""

    # Handler threads are joined on close, so requests in flight get their answers.
    daemon_threads = False
    # socketserver's default listen backlog is 5: a burst of 32 clients arriving while the
    # worker holds the GIL overflowed it and the kernel reset connections (measured).
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], model_name: str, request_timeout: float = REQUEST_TIMEOUT_S
    ) -> None:
        super().__init__(address, Handler)
        self.model_name = model_name
        self.request_timeout = request_timeout
        self.engine = None  # a BatchGenerator once loaded
        self.load_error: str | None = None


class Handler(BaseHTTPRequestHandler):
    """Routes /ping and /invocations; every answer is JSON."""

    server: LocalServer

    def setup(self) -> None:
        self.timeout = self.server.request_timeout  # StreamRequestHandler applies it
        super().setup()

    def do_GET(self) -> None:
        if self.path != "/ping":
            self._refuse()
            return
        engine = self.server.engine
        if engine is None:
            self._send(503, {"status": "loading"})
        else:
            self._send(200, {"status": "ready", "generating": engine.generating})

    do_HEAD = do_GET  # the same status and headers; _send leaves the body out

    def do_POST(self) -> None:
        if not INVOCATIONS.match(self.path):
            # 405 or 404 whether or not a body came: only /invocations requires one.
            self._refuse()
            return
        try:
            # Read the body before answering anything: closing a socket with unread data
            # makes the client see a connection reset instead of our error.
            body = self._body(required=True)
            self._send(200, self._invoke(body))
        except ContractError as exc:
            self._send_error(exc)
        except Exception as exc:  # a server fault, never the client's
            self._send(500, _error(500, f"internal error: {exc!r}"))

    def _refuse(self) -> None:
        """Answers a method the path does not take (405) or an unknown path (404)."""
        try:
            self._body(required=False)
            raise self._not_here()
        except ContractError as exc:
            self._send_error(exc)

    def _not_here(self) -> ContractError:
        allowed = _allowed_methods(self.path)
        if allowed is None:
            return ContractError(404, f"no such path: {self.path}")
        return ContractError(405, f"{self.command} is not allowed on {self.path}: use {allowed}")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answers the standard library's own refusals as JSON instead of its HTML page.

        It calls this for a malformed request line or headers (400, 414, 431) and, with
        501, for any method without a ``do_`` method here: that one is answered like GET
        on /invocations, 405 naming the methods the path takes, as a 4xx (the request is
        wrong; the evaluation client retries 5xx).
        """
        if code == HTTPStatus.NOT_IMPLEMENTED:
            self._refuse()
            return
        self.close_connection = True
        self._send(code, _error(code, message or self.responses.get(code, ("error",))[0]))

    def _invoke(self, body: bytes) -> dict[str, Any]:
        engine = self.server.engine
        if engine is None:
            raise ContractError(503, "the model is still loading", kind="unavailable")
        request = parse_request(body)
        job = engine.prepare(request)
        engine.submit(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return chat_response(
            self.server.model_name,
            job.text,
            job.finish_reason,
            len(job.input_ids),
            job.completion_tokens,
        )

    def _body(self, required: bool) -> bytes:
        """Reads the body its Content-Length announces (none without one, unless required).

        Raises:
            ContractError: 411 without Content-Length when required, 413 over the limit,
                400 when the body ends or stalls before its announced length.
        """
        length = self.headers.get("Content-Length")
        if length is None and not required:
            return b""
        # isdigit alone passes "²", which int() refuses: ASCII digits only.
        if length is None or not (length.isascii() and length.isdigit()):
            raise ContractError(411, "a Content-Length header is required")
        digits = length.lstrip("0") or "0"
        # A length with more digits than the limit is over it; int() of one over 4300
        # digits would raise ValueError (a 500) instead.
        expected = int(digits) if len(digits) <= len(str(MAX_BODY_BYTES)) else MAX_BODY_BYTES + 1
        if expected > MAX_BODY_BYTES:
            raise ContractError(413, f"request body is over {MAX_BODY_BYTES} bytes")
        chunks: list[bytes] = []
        received = 0
        try:
            while received < expected:
                chunk = self.rfile.read1(expected - received)
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
        except TimeoutError:
            self.close_connection = True
            raise ContractError(
                400,
                f"request body stalled: {received} of the {expected} bytes its Content-Length "
                f"announced arrived, then nothing for {self.timeout:g} s",
            ) from None
        if received < expected:
            self.close_connection = True
            raise ContractError(
                400,
                f"request body ended after {received} of the {expected} bytes its "
                "Content-Length announced",
            )
        return b"".join(chunks)

    def _send_error(self, error: ContractError) -> None:
        allow = _allowed_methods(self.path) if error.status == 405 else None
        self._send(error.status, error.body(), allow=allow)

    def _send(self, status: int, body: dict[str, Any], allow: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _error(status: int, message: str) -> dict[str, Any]:
    return ContractError(status, message).body()


def _allowed_methods(path: str) -> str | None:
    """The methods a path takes, as an ``Allow`` header says them; None for unknown paths."""
    if path == "/ping":
        return "GET, HEAD"
    if INVOCATIONS.match(path):
        return "POST"
    return None


def _load(server: LocalServer, args: argparse.Namespace, stop: threading.Event) -> None:
    started = time.monotonic()
    try:
        # Imported here, after the socket is open: torch and transformers take seconds.
        import torch
        from batch_generator import BatchGenerator

        # Half the cores by default: with every core, torch's threads spin-wait on each
        # other whenever anything else runs (a training job, a second endpoint), and a busy
        # 2-core machine then decodes 10x slower (measured; docs/serving.md).
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) // 2))

        engine = BatchGenerator(
            Path(args.model_dir), args.max_batch_size, args.max_model_len, args.device, args.dtype
        )
        engine.start()
    except Exception as exc:
        server.load_error = f"failed to load the model from {args.model_dir}: {exc!r}"
        print(server.load_error, file=sys.stderr, flush=True)
        stop.set()
        return
    server.engine = engine
    took = time.monotonic() - started
    print(
        f"model loaded in {took:.1f}s (max model length {engine.max_model_len}, batches of up "
        f"to {engine.max_batch_size}, {torch.get_num_threads()} threads, {engine.dtype}); ready",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (kept stable: the local cloud starts this for every endpoint)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="model directory training wrote")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=None,
        help="requests per generate (default: $OPTION_MAX_ROLLING_BATCH_SIZE, else 8)",
    )
    parser.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        help="context limit (default: $OPTION_MAX_MODEL_LEN, else the model's)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU benchmark")
    parser.add_argument(
        "--dtype",
        choices=("auto", "bf16", "fp32"),
        default="auto",
        help="weights and compute (default: bf16 on a GPU, fp32 on CPU; docs/serving.md)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: half the cores)"
    )
    args = parser.parse_args(argv)
    # A SageMaker model's container environment (serving_images.serving_environment) sets the
    # GPU engine's limits; the local cloud passes it on, so the same limits hold here.
    for flag, variable, fallback in (
        ("max_batch_size", "OPTION_MAX_ROLLING_BATCH_SIZE", 8),
        ("max_model_len", "OPTION_MAX_MODEL_LEN", None),
    ):
        if getattr(args, flag) is None:
            value = os.environ.get(variable, "").strip()
            if value and not (value.isdigit() and int(value) > 0):
                parser.error(f"{variable}={value!r}: must be a whole number above 0")
            setattr(args, flag, int(value) if value else fallback)
    if args.max_batch_size < 1:
        parser.error("--max-batch-size must be at least 1")
    # 0 used to mean "the model's limit" silently, and -5 started a server that refused
    # every request: a limit below 1 is a mistake, said at start.
    for flag, value in (("--max-model-len", args.max_model_len), ("--threads", args.threads)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Serves until SIGTERM/SIGINT; returns the process exit code."""
    args = parse_args(argv)
    model_dir = Path(args.model_dir)
    if not (model_dir / "config.json").is_file():
        print(
            f"--model-dir {model_dir}: no config.json there; point it at the directory "
            "training wrote (safetensors, tokenizer, chat template)",
            file=sys.stderr,
        )
        return 2
    # Nothing here may reach the Hugging Face Hub: the model directory is all there is.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    server = LocalServer((args.host, args.port), model_dir.name)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=_load, args=(server, args, stop), name="load", daemon=True).start()
    while not stop.wait(0.5):
        pass

    print("shutting down: finishing requests in progress", flush=True)
    server.shutdown()
    if server.engine is not None:
        server.engine.stop()
    server.server_close()
    print("stopped", flush=True)
    return 1 if server.load_error else 0


if __name__ == "__main__":
    sys.exit(main())
