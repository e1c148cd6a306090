"""A child process in its own process group, its output pumped into a LogSink."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

from localcloud.processes import end_group
from localcloud.sagemaker.logsink import LogSink

_TAIL_LINES = 200
_MAX_LINE_BYTES = 64 * 1024
# What the main process leaves running gets this long to exit on SIGTERM: enough for torchrun
# workers to flush their output, short enough not to hold up the job's final status.
_LEFTOVER_GRACE_S = 2.0
# How long the output pumps may take, together, to read what is left in the pipes.
_DRAIN_S = 5.0

# An exception ("ValueError: ...", "torch.OutOfMemoryError: ...", a bare "KeyError") or an
# argparse-style "prog: error: ..." line, maybe behind a torchrun "[rank0]:" prefix. torchrun's
# own ChildFailedError is left out: its message is the summary table, not the worker's error.
_ERROR_LINE = re.compile(
    r"^(?:\[\w+\]:\s*)?"
    r"(?:(?![\w.]*ChildFailedError\b)[\w.]*(?:Error|Exception)(?::|$)|(?:\S+: )?(?i:error): )"
)
# Blank lines and rules such as the row of "=" that ends torchrun's error summary.
_SEPARATOR = re.compile(r"^[\W_]*$")


def error_line(*tails: Iterable[str]) -> str:
    """The line that best says why a process failed, from its output (most telling tail first).

    The last exception or ``error:`` line of the first tail that has one; else the last line
    that is neither blank nor a separator; else "".
    """
    # Progress bars rewrite one line with carriage returns: keep the last state.
    texts = [[line.split("\r")[-1].strip() or line.strip() for line in tail] for tail in tails]
    for pattern, wanted in ((_ERROR_LINE, True), (_SEPARATOR, False)):
        for tail in texts:
            for text in reversed(tail):
                if bool(pattern.match(text)) == wanted:
                    return text
    return ""


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
        """Waits up to ``timeout`` seconds; returns the exit code or None if still running.

        Once the process has exited, whatever it left running in its group is ended (SIGTERM,
        then SIGKILL after a short grace), as the end of a job ends its instance, and the rest
        of its output is read.
        """
        try:
            code = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        end_group(self._popen.pid, grace_s=_LEFTOVER_GRACE_S)
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
        """The line of stderr (then stdout) that best says why it failed: see :func:`error_line`."""
        return error_line(list(self._stderr_tail), list(self._stdout_tail))

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def _drain(self) -> None:
        # A grandchild that left the group may still hold a pipe open; do not hang on it.
        deadline = time.monotonic() + _DRAIN_S
        for pump in self._pumps:
            pump.join(timeout=max(0.0, deadline - time.monotonic()))

    def _pump(self, stream: IO[bytes], tail: deque[str]) -> None:
        # Bounded reads: a progress bar redrawn with carriage returns never ends its line.
        for raw in iter(lambda: stream.readline(_MAX_LINE_BYTES), b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            tail.append(line)
            self._sink.write(line)
            if self._on_line is not None:
                self._on_line(line)
        stream.close()
