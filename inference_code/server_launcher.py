"""Starts ``local_server.py`` as a child process and waits for it: for tests, the benchmark
and the local cloud, which all need the same "start, find the port, wait for /ping" dance.

    server = LocalServerProcess.start(model_dir)        # port 0: the server picks one
    server.wait_ready(timeout=120)
    ... POST f"{server.url}/invocations" ...
    server.stop()                                        # SIGTERM, returns the exit code

The local cloud starts the server the same way with the model's container environment, whose
``OPTION_MAX_MODEL_LEN`` and ``OPTION_MAX_ROLLING_BATCH_SIZE`` the server reads as its limits.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SERVER_SCRIPT = Path(__file__).with_name("local_server.py")
LISTENING = "listening on "


class ServerStartError(RuntimeError):
    """The server exited or stayed silent; the message ends with its last output lines."""


class LocalServerProcess:
    """A running local server: its process, its URL and the last lines it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls,
        model_dir: Path | str,
        port: int = 0,
        host: str = "127.0.0.1",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> LocalServerProcess:
        """Launches the server and returns once its socket is open (not yet ready).

        Raises:
            ServerStartError: if it exits or prints no ``listening on`` line in ``timeout``.
        """
        command = [sys.executable, str(SERVER_SCRIPT), "--model-dir", str(model_dir)]
        command += ["--port", str(port), "--host", host, *(extra_args or [])]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        # readline blocks, but the first line comes within a second or the process dies.
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if line.startswith(LISTENING):
                server = cls(process, line[len(LISTENING) :].strip())
                server.output.extend(seen)
                return server
        process.kill()
        process.wait()
        raise ServerStartError(
            f"local server did not open its port (exit code {process.returncode}):\n"
            + "\n".join(seen[-20:])
        )

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def ping(self) -> int:
        """The status code of ``GET /ping`` (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Polls ``/ping`` until 200.

        Raises:
            ServerStartError: if the process exits or ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ping() == 200:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise ServerStartError(
            f"local server at {self.url} not ready (exit code {self.process.poll()}):\n"
            + "\n".join(list(self.output)[-20:])
        )

    def stop(self, timeout: float = 30.0) -> int:
        """Sends SIGTERM and waits; kills it if it does not exit in ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        return self.process.returncode
