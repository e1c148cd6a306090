"""What training and processing jobs share: a sandbox, a log, a supervised process, stopping."""

from __future__ import annotations

import abc
import re
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from localcloud.sagemaker import registry, settings
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import OptMl
from localcloud.sagemaker.process import ManagedProcess

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_MAX_REASON = 1024
_POLL_S = 1.0


class JobError(Exception):
    """A job failed before or outside its process; the message is the FailureReason."""


@dataclass(frozen=True)
class Outcome:
    """How the job's process ended."""

    exit_code: int
    stopped: bool = False
    timed_out: bool = False


def interpreter(argv: Sequence[str], python: str) -> list[str]:
    """Runs a leading ``python``/``python3``/``/usr/bin/python3`` with the project's Python."""
    argv = list(argv)
    if argv and _PYTHON.match(Path(argv[0]).name):
        argv[0] = python
    return argv


def trim_reason(reason: str) -> str:
    """SageMaker caps FailureReason at 1024 characters."""
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


class JobRun(abc.ABC):
    """One job executing in a background thread.

    Subclasses implement :meth:`_execute`, which prepares the sandbox, calls :meth:`_supervise`
    and uploads results, and :meth:`_finish`, which records the final status on the moto object.
    """

    kind: str  # the CloudWatch/log folder name: "TrainingJobs" or "ProcessingJobs"

    def __init__(self, name: str, account: str, region: str):
        self.settings = settings.current()
        self.name = name
        self.account = account
        self.region = region
        self.sandbox = OptMl(self.settings.state_dir / "jobs" / name)
        self.log_path = self.settings.state_dir / "logs" / self.kind / f"{name}.log"
        self.started = time.monotonic()
        self._stop_requested = threading.Event()
        self._process: ManagedProcess | None = None
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-{name}", daemon=True)
        self._key = registry.key(self.kind, account, region, name)

    def start(self) -> None:
        registry.add(self._key, self)
        self._thread.start()

    def request_stop(self) -> None:
        """Asks the job to stop (as StopTrainingJob does); the status follows within a second."""
        self._stop_requested.set()

    def stop(self) -> None:
        """Stops the job and waits until its process is gone."""
        self.request_stop()
        if self._process is not None:
            self._process.terminate()
        self._thread.join(timeout=60)

    def pids(self) -> list[int]:
        process = self._process
        return [process.pid] if process is not None and process.poll() is None else []

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def s3(self):
        return self.settings.client("s3", self.region)

    def _run(self) -> None:
        sink = LogSink(
            self.log_path,
            lambda: self.settings.client("logs", self.region),
            f"/aws/sagemaker/{self.kind}",
            f"{self.name}/algo-1-{int(time.time())}",
        )
        try:
            status, reason = self._execute(sink)
        except JobError as error:
            status, reason = "Failed", str(error)
        except Exception as error:  # a setup step (download, unpack) failed, not the user's code
            status, reason = "Failed", f"ClientError: {type(error).__name__}: {error}"
        if reason:
            sink.write(f"[localcloud] {self.name} failed: {reason}")
        sink.close()
        self._finish(status, trim_reason(reason) if reason else None)
        registry.remove(self._key)

    @abc.abstractmethod
    def _execute(self, sink: LogSink) -> tuple[str, str | None]:
        """Runs the job; returns (final status, FailureReason or None)."""

    @abc.abstractmethod
    def _finish(self, status: str, reason: str | None) -> None:
        """Records the final status on the moto object."""

    def fresh_sandbox(self) -> OptMl:
        """An empty sandbox (a leftover from an earlier local cloud run is removed)."""
        if self.sandbox.root.exists():
            shutil.rmtree(self.sandbox.root)
        return self.sandbox.create()

    def _supervise(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        sink: LogSink,
        max_runtime_s: float | None,
        on_line: Callable[[str], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> Outcome:
        """Runs ``argv`` until it exits, is stopped, or passes ``max_runtime_s``."""
        sink.write(f"[localcloud] running: {' '.join(argv)}")
        process = ManagedProcess(argv, cwd=cwd, env=env, sink=sink, on_line=on_line)
        self._process = process
        deadline = None if not max_runtime_s else time.monotonic() + max_runtime_s
        stopped = timed_out = False
        while (code := process.wait(timeout=_POLL_S)) is None:
            sink.flush()
            if on_tick is not None:
                on_tick()
            if self.stop_requested and not stopped:
                stopped = True
                process.terminate()
            elif deadline is not None and time.monotonic() > deadline and not timed_out:
                timed_out = True
                process.terminate()
        sink.flush()
        return Outcome(exit_code=code, stopped=stopped, timed_out=timed_out)

    def failure_reason(self, outcome: Outcome) -> str:
        """Why the process failed: the container's failure file, else its last error line."""
        failure_file = self.sandbox.failure_file
        if failure_file.is_file() and failure_file.read_text(errors="replace").strip():
            return "AlgorithmError: " + failure_file.read_text(errors="replace").strip()
        last = self._process.last_error_line() if self._process is not None else ""
        code = outcome.exit_code
        return (
            f'AlgorithmError: ExecuteUserScriptError: ExitCode {code} ErrorMessage "{last}", '
            f"exit code: {code}"
        )
