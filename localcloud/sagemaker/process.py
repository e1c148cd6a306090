"""A child process in its own process group, its output pumped into a LogSink."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from localcloud.sagemaker.logsink import LogSink

_TAIL_LINES = 200
_MAX_LINE_BYTES = 64 * 1024


class ManagedProcess:
    """Starts ``argv`` in a new session so the whole tree (torchrun workers too) can be killed.

    Args:
        argv: the command.
        cwd: its working folder.
        env: its complete environment.
        sink: receives every line of stdout and stderr.
        on_line: also called with every line (e.g. to match metric definitions).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        sink: LogSink,
        on_line: Callable[[str], None] | None = None,
    ):
        self.argv = list(argv)
        self._sink = sink
        self._on_line = on_line
        self._stderr_tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._stdout_tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._popen = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream, tail), daemon=True)
            for stream, tail in (
                (self._popen.stdout, self._stdout_tail),
                (self._popen.stderr, self._stderr_tail),
            )
        ]
        for pump in self._pumps:
            pump.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Waits up to ``timeout`` seconds; returns the exit code or None if still running."""
        try:
            code = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._drain()
        return code

    def terminate(self, grace_s: float = 5.0) -> int:
        """Stops the whole process group: SIGTERM, then SIGKILL after ``grace_s`` seconds."""
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=grace_s)
        # The leader may be gone while its children (torchrun workers) linger: kill them all.
        self._signal_group(signal.SIGKILL)
        code = self._popen.wait()
        self._drain()
        return code

    def last_error_line(self) -> str:
        """The last non-empty line the process wrote to stderr (stdout if stderr is empty)."""
        for tail in (self._stderr_tail, self._stdout_tail):
            for line in reversed(tail):
                # Progress bars rewrite one line with carriage returns: keep the last state.
                text = line.split("\r")[-1].strip() or line.strip()
                if text:
                    return text
        return ""

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def _drain(self) -> None:
        for pump in self._pumps:
            # A grandchild that outlives the leader may hold the pipe open; do not hang on it.
            pump.join(timeout=5)

    def _pump(self, stream: IO[bytes], tail: deque[str]) -> None:
        # Bounded reads: a progress bar redrawn with carriage returns never ends its line.
        for raw in iter(lambda: stream.readline(_MAX_LINE_BYTES), b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            tail.append(line)
            self._sink.write(line)
            if self._on_line is not None:
                self._on_line(line)
        stream.close()
