"""A stand-in for inference_code/local_server.py that speaks the same contract, without a model.

    python standin_server.py --model-dir DIR --port PORT --host 127.0.0.1

Prints ``listening on http://HOST:PORT``; ``GET /ping`` answers 503 until the "model" is loaded
(``DIR/config.json`` read after ``STANDIN_LOAD_SECONDS``, default 0.3 s), then 200.
``POST /invocations`` takes a chat-completions body and answers in that shape, echoing the last
message and the model's ``name`` from config.json; a body that is not JSON with ``messages``
gets 400 with the reason. A model folder holding ``FAIL`` makes the server exit at start-up.
``STANDIN_DIE_AFTER_SECONDS`` makes it start a helper (``helper=PID`` on stdout) and exit with
code 4 that long after start-up, leaving the helper running, as a crashed server leaves workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL: dict[str, object] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/ping":
            self._reply(404, {"error": f"no route {self.path}"})
        elif MODEL:
            self._reply(200, {"status": "ok"})
        else:
            self._reply(503, {"status": "loading"})

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._reply(404, {"error": f"no route {self.path}"})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
            messages = body["messages"]
            text = str(messages[-1]["content"])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            self._reply(400, {"error": f"bad request: {type(error).__name__}: {error}"})
            return
        answer = f"{MODEL['name']} says: {text}"
        self._reply(
            200,
            {
                "object": "chat.completion",
                "model": MODEL["name"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(text), "completion_tokens": len(answer)},
                "env": {"GREETING": os.environ.get("GREETING", "")},
            },
        )

    def _reply(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"request: {format % args}", flush=True)


def _load(model_dir: Path) -> None:
    time.sleep(float(os.environ.get("STANDIN_LOAD_SECONDS", "0.3")))
    MODEL.update(json.loads((model_dir / "config.json").read_text()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    if (args.model_dir / "FAIL").exists():
        print(f"RuntimeError: refusing to serve {args.model_dir}", file=sys.stderr)
        sys.exit(3)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}", flush=True)
    threading.Thread(target=_load, args=(args.model_dir,), daemon=True).start()
    if "STANDIN_DIE_AFTER_SECONDS" in os.environ:
        threading.Thread(target=_die, daemon=True).start()
    server.serve_forever()


def _die() -> None:
    helper = subprocess.Popen(["sleep", "300"])
    print(f"helper={helper.pid}", flush=True)
    time.sleep(float(os.environ["STANDIN_DIE_AFTER_SECONDS"]))
    print("RuntimeError: the stand-in server crashed", file=sys.stderr, flush=True)
    os._exit(4)


if __name__ == "__main__":
    main()
