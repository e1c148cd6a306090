"""What training and processing jobs share: sandboxes, logs, supervised processes, stopping.

A job runs one process per instance (host ``algo-1``, ``algo-2``, ...), each with its own
``/opt/ml`` sandbox and log stream, started as :mod:`localcloud.sagemaker.launcher` says.
"""

from __future__ import annotations

import abc
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from localcloud.iam import credentials
from localcloud.iam.credentials import Keys
from localcloud.sagemaker import contract, isolation, launcher, registry, settings, vpc_access
from localcloud.sagemaker.job_outcome import JobError, Outcome, trim_reason
from localcloud.sagemaker.launcher import Launch
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import OptMl
from localcloud.sagemaker.pip_check import PipWatch
from localcloud.sagemaker.process import ManagedProcess

_POLL_S = 1.0


class JobRun(abc.ABC):
    """One job executing in a background thread.

    Subclasses implement :meth:`_execute`, which prepares the sandboxes, starts each host's
    process with :meth:`_launch`, waits with :meth:`_watch` and uploads results, and
    :meth:`_finish`, which records the final status on the moto object.
    """

    kind: str  # the CloudWatch/log folder name: "TrainingJobs" or "ProcessingJobs"

    def __init__(self, name: str, account: str, region: str):
        self.settings = settings.current()
        self.name = name
        self.account = account
        self.region = region
        self.root = self.settings.state_dir / "jobs" / name
        self.hosts = [contract.HOST]
        self.isolated = False  # network isolation is enforced (not only asked for)
        self.pip = PipWatch()
        self.log_path = self._log_path(contract.HOST)
        self.started = time.monotonic()
        self._runtime_dir = self.settings.state_dir / "toolkit" / self.kind / name
        self._stream_stamp = int(time.time())
        self._stop_requested = threading.Event()
        self._refused = threading.Event()
        self._processes: dict[str, ManagedProcess] = {}
        self._sinks: dict[str, LogSink] = {}
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-{name}", daemon=True)
        self._key = registry.key(self.kind, account, region, name)
        self._keys: Keys | None = None
        self._process_keys: Keys | None = None
        self._encrypt_checked = threading.Event()

    @property
    def sandbox(self) -> OptMl:
        """The leader's sandbox (the only one of a single-instance job)."""
        return self.sandbox_of(self.hosts[0])

    def sandbox_of(self, host: str) -> OptMl:
        """``jobs/<name>/`` for a single host; ``jobs/<name>/<host>/`` for each of several."""
        return OptMl(self.root if len(self.hosts) == 1 else self.root / host)

    def sink(self, host: str) -> LogSink:
        """The log of ``host``: ``<name>.log`` (leader) or ``<name>.<host>.log``, and its stream."""
        if host not in self._sinks:
            self._sinks[host] = LogSink(
                self._log_path(host),
                lambda: self.settings.client("logs", self.region),
                f"/aws/sagemaker/{self.kind}",
                f"{self.name}/{host}-{self._stream_stamp}",
            )
        return self._sinks[host]

    def start(self) -> None:
        registry.add(self._key, self)
        self._thread.start()

    def request_stop(self) -> None:
        """Asks the job to stop (as StopTrainingJob does); the status follows within a second."""
        self._stop_requested.set()

    def stop(self) -> None:
        """Stops the job and waits until its processes are gone."""
        self.request_stop()
        for process in list(self._processes.values()):
            process.terminate()
        self._thread.join(timeout=60)

    def pids(self) -> list[int]:
        return [p.pid for p in list(self._processes.values()) if p.poll() is None]

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def role_keys(self) -> Keys:
        """The job role's session: SageMaker stages data and runs the job with its RoleArn."""
        if self._keys is None:
            role = (getattr(self, "request", None) or {}).get("RoleArn")
            self._keys = credentials.for_role(role, credentials.SAGEMAKER, "SageMaker")
        return self._keys

    def process_keys(self) -> Keys:
        """The keys the job's code gets, its own (``vpc_access.job_keys``)."""
        if self._process_keys is None:
            request = getattr(self, "request", None) or {}
            self._process_keys = vpc_access.job_keys(self.name, request, self.account, self.region)
        return self._process_keys

    def s3(self):
        """An S3 client acting for the job's role, for staging inputs and uploading outputs.

        With an output KMS key, the first upload asks KMS to encrypt with it first, as the role
        must be allowed to: "the SageMaker execution role must include permissions to call
        kms:Encrypt" (``OutputDataConfig.KmsKeyId``,
        https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html).
        """
        client = self.settings.client("s3", self.region, self.role_keys())
        request = getattr(self, "request", None) or {}
        output = request.get("OutputDataConfig") or request.get("ProcessingOutputConfig") or {}
        key_id = output.get("KmsKeyId")
        if key_id:
            for operation in ("PutObject", "CreateMultipartUpload"):
                client.meta.events.register(
                    f"before-call.s3.{operation}", lambda **_: self._may_encrypt(key_id)
                )
        return client

    def _may_encrypt(self, key_id: str) -> None:
        if not self._encrypt_checked.is_set():
            kms = self.settings.client("kms", self.region, self.role_keys())
            kms.encrypt(KeyId=key_id, Plaintext=b"SageMaker output")
            self._encrypt_checked.set()

    def pip_report(self, host: str) -> Path:
        """Where pip in ``host``'s process reports what it would install (``PIP_REPORT``)."""
        return self._runtime_dir / f"{host}.pip-report.json"

    def _log_path(self, host: str) -> Path:
        suffix = "" if host == contract.HOST else f".{host}"
        return self.settings.state_dir / "logs" / self.kind / f"{self.name}{suffix}.log"

    def _run(self) -> None:
        sink = self.sink(contract.HOST)
        try:
            status, reason = self._execute(sink)
        except JobError as error:
            status, reason = "Failed", str(error)
        except Exception as error:  # a setup step (download, unpack) failed, not the user's code
            status, reason = "Failed", f"ClientError: {type(error).__name__}: {error}"
        self._terminate_running({})  # a host started before a later one failed to start
        if reason:
            sink.write(f"[localcloud] {self.name} failed: {reason}")
        for each in list(self._sinks.values()):
            each.close()
        if self._process_keys is not None:
            vpc_access.unregister(self._process_keys.access_key_id)
        self._finish(status, trim_reason(reason) if reason else None)
        registry.remove(self._key)

    @abc.abstractmethod
    def _execute(self, sink: LogSink) -> tuple[str, str | None]:
        """Runs the job; returns (final status, FailureReason or None)."""

    @abc.abstractmethod
    def _finish(self, status: str, reason: str | None) -> None:
        """Records the final status on the moto object."""

    def fresh_sandbox(self) -> OptMl:
        """Empty sandboxes for every host (a leftover of an earlier local cloud run is removed)."""
        for folder in (self.root, self._runtime_dir):
            if folder.exists():
                shutil.rmtree(folder)
        self._runtime_dir.mkdir(parents=True)
        for host in self.hosts:
            self.sandbox_of(host).create()
        return self.sandbox

    def namespaces_problem(self, sink: LogSink, wanted: str, instead: str) -> str | None:
        """Why namespaces cannot give ``wanted`` here, or None; said in the job's log."""
        problem = isolation.support().problem
        if problem:
            sink.write(f"[localcloud] {self.name}: cannot {wanted} here ({problem}); {instead}")
        return problem

    def hosts_file(self) -> Path:
        """An ``/etc/hosts`` naming every host of the job on this machine's loopback."""
        return launcher.hosts_file(self._runtime_dir / "hosts", self.hosts)

    def _launch(
        self, launch: Launch, env: dict[str, str], on_line: Callable[[str], None] | None = None
    ) -> ManagedProcess:
        """Starts one host's process, its output going to the host's log."""
        sink = self.sink(launch.host)
        bootstrap_file = self._runtime_dir / f"{launch.host}.json"
        command, cwd = launch.command(self.settings.python, bootstrap_file)
        isolated = " (network isolated)" if launch.namespaces.isolated else ""
        sink.write(f"[localcloud] {launch.host} running: {' '.join(launch.argv)}{isolated}")

        def observe(line: str) -> None:
            if self.pip.observe(line):
                self._refused.set()
            if on_line is not None:
                on_line(line)

        env = {k: v for k, v in env.items() if k != "AWS_SESSION_TOKEN"}
        env.update(self.process_keys().env())  # the container has its execution role's keys
        process = ManagedProcess(command, cwd=cwd, env=env, sink=sink, on_line=observe)
        self._processes[launch.host] = process
        return process

    def _watch(
        self, *, max_runtime_s: float | None, on_tick: Callable[[], None] | None = None
    ) -> Outcome:
        """Waits for every host's process; ends all of them once one fails, or when stopped.

        SageMaker ends a job when one instance's algorithm fails, so the others, which may be
        waiting for it in a rendezvous, are ended too.
        """
        deadline = None if not max_runtime_s else time.monotonic() + max_runtime_s
        stopped = timed_out = refused = False
        codes: dict[str, int] = {}
        failed: str | None = None
        while True:
            for host, process in self._processes.items():
                running = [h for h in self._processes if h not in codes]
                if host in codes:
                    continue
                timeout = _POLL_S if host == running[0] else 0
                if (code := process.wait(timeout=timeout)) is not None:
                    codes[host] = code
                    failed = failed or (host if code != 0 else None)
            if self._pip_would_install():
                self._refused.set()
            if len(codes) == len(self._processes):
                break
            for sink in list(self._sinks.values()):
                sink.flush()
            if on_tick is not None:
                on_tick()
            if not (failed or stopped or timed_out or refused):
                if self.stop_requested:
                    stopped = True
                elif deadline is not None and time.monotonic() > deadline:
                    timed_out = True
                elif self._refused.is_set():
                    refused = True
            if failed or stopped or timed_out or refused:
                self._terminate_running(codes)
        for sink in list(self._sinks.values()):
            sink.flush()
        refused = refused or self._refused.is_set()  # a pip run just before the end
        host = failed or self.hosts[0]
        return Outcome(codes.get(host, 0), stopped, timed_out, host=host, refused=refused)

    def _pip_would_install(self) -> bool:
        return any([self.pip.read_report(self.pip_report(host)) for host in self._processes])

    def _terminate_running(self, codes: dict[str, int]) -> None:
        for host, process in list(self._processes.items()):
            if host not in codes and process.poll() is None:
                process.terminate()

    def failure_reason(self, outcome: Outcome) -> str:
        """Why the job failed: pip's verdict on the venv, else the failing host's failure file,
        else its last error line."""
        pip_reason = self.pip.reason(isolated=self.isolated)
        if pip_reason:
            return pip_reason
        failure_file = self.sandbox_of(outcome.host).failure_file
        if failure_file.is_file() and failure_file.read_text(errors="replace").strip():
            return "AlgorithmError: " + failure_file.read_text(errors="replace").strip()
        process = self._processes.get(outcome.host)
        last = process.last_error_line() if process is not None else ""
        code = outcome.exit_code
        return (
            f'AlgorithmError: ExecuteUserScriptError: ExitCode {code} ErrorMessage "{last}", '
            f"exit code: {code}"
        )
