"""A training job run as local processes, one per instance, with the framework container's
contract (see docs/local-sagemaker.md)."""

from __future__ import annotations

import contextlib
import copy
import re
import socket
import time
from pathlib import Path
from typing import Any

from moto.core.utils import utcnow

from localcloud.sagemaker import contract, s3io, training_inputs, training_outputs
from localcloud.sagemaker.job_outcome import JobError, Outcome
from localcloud.sagemaker.jobrun import JobRun
from localcloud.sagemaker.launcher import Launch, Namespaces, interpreter
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import rewrite
from localcloud.sagemaker.training_command import TOOLKIT_MASTER_PORT, Cluster, entry_command
from localcloud.sagemaker.training_inputs import HostSetup


def metric_patterns(request: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """Compiles a CreateTrainingJob request's ``MetricDefinitions`` as (name, pattern) pairs.

    Raises:
        ValueError: a ``Regex`` does not compile; the message names the metric and the error.
    """
    definitions = (request.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    patterns = []
    for definition in definitions:
        name, regex = definition.get("Name"), definition.get("Regex")
        try:
            patterns.append((name, re.compile(regex)))
        except (re.error, TypeError) as error:
            raise ValueError(
                f"AlgorithmSpecification.MetricDefinitions: the Regex {regex!r} of metric "
                f"{name!r} is not a valid regular expression ({error}); fix the pattern, whose "
                "first group captures the value"
            ) from error
    return patterns


class TrainingRun(JobRun):
    """Runs one CreateTrainingJob request and keeps its moto ``FakeTrainingJob`` up to date."""

    kind = "TrainingJobs"

    def __init__(self, job: Any, request: dict[str, Any], account: str, region: str):
        super().__init__(request["TrainingJobName"], account, region)
        self.job = job
        self.request = copy.deepcopy(request)
        self.metrics: dict[str, tuple[float, Any]] = {}
        self._timed_out = False
        self._last_sync = time.monotonic()
        self._checkpoints: list[s3io.DirSync] = []
        self._cluster = Cluster(hosts=self.hosts)
        self._hosts_file: Path | None = None
        self._metric_patterns = metric_patterns(request)
        self._reset_job()

    def _reset_job(self) -> None:
        # moto's mock marks the job Completed at once and invents metrics; undo that.
        job, request = self.job, self.request
        job.algorithm_specification = copy.deepcopy(request["AlgorithmSpecification"])
        job.environment = request.get("Environment")
        job.retry_strategy = request.get("RetryStrategy")
        job.training_job_status = "InProgress"
        job.failure_reason = None
        job.model_artifacts = None
        job.final_metric_data_list = None
        job.training_start_time = job.training_end_time = None
        job.billable_time_in_seconds = job.training_time_in_seconds = None
        job.secondary_status_transitions = []
        self._transition("Starting", "Launching requested ML instances")

    def _transition(self, status: str, message: str, final: bool = False) -> None:
        now = utcnow()
        transitions = self.job.secondary_status_transitions
        if transitions:
            transitions[-1]["EndTime"] = now
        entry = {"Status": status, "StartTime": now, "StatusMessage": message}
        if final:
            entry["EndTime"] = now
        transitions.append(entry)
        self.job.secondary_status = status
        self.job.last_modified_time = now

    def request_stop(self) -> None:
        super().request_stop()
        if self.job.training_job_status == "InProgress":
            self.job.training_job_status = "Stopping"
            self._transition("Stopping", "Stopping the training job")

    def _execute(self, sink: LogSink) -> tuple[str, str | None]:
        s3 = self.s3()
        self._plan_cluster(sink)
        self.fresh_sandbox()
        self._transition("Downloading", "Downloading input data")
        setups = [
            training_inputs.prepare_host(s3, self.sandbox_of(host), self.request, self.hosts, i)
            for i, host in enumerate(self.hosts)
        ]
        if self.stop_requested:
            return "Stopped", None
        self._transition("Training", "Training image download completed. Training in progress.")
        self.job.training_start_time = utcnow()
        for host, setup in zip(self.hosts, setups, strict=True):
            self._start(host, setup)
        self._checkpoints = [setup.checkpoints for setup in setups if setup.checkpoints]
        outcome = self._watch(
            max_runtime_s=(self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"),
            on_tick=self._periodic_sync if self._checkpoints else None,
        )
        self._transition("Uploading", "Uploading generated training model")
        for checkpoints in self._checkpoints:
            checkpoints.sync()
        if not outcome.refused and (outcome.exit_code == 0 or outcome.stopped or outcome.timed_out):
            self._upload_results(s3)
        return self._status_of(outcome)

    def _plan_cluster(self, sink: LogSink) -> None:
        """Decides the hosts and their network, saying in the log what cannot be enforced."""
        count = int((self.request.get("ResourceConfig") or {}).get("InstanceCount") or 1)
        asked = bool(self.request.get("EnableNetworkIsolation"))
        self.isolated = asked and not self.namespaces_problem(
            sink, "enforce network isolation", "the job runs with the network"
        )
        separate = count > 1 and not self.namespaces_problem(
            sink,
            f"run {count} instances as separate hosts",
            f"they run as {count} torchrun processes of one host, {contract.HOST}",
        )
        self.hosts = contract.host_names(count if separate else 1)
        self._cluster = Cluster(
            hosts=self.hosts,
            master_port=TOOLKIT_MASTER_PORT if self.isolated else _free_port(),
            workers_per_host=count if count > 1 and not separate else 1,
        )

    def _status_of(self, outcome: Outcome) -> tuple[str, str | None]:
        if outcome.refused:
            return "Failed", self.failure_reason(outcome)
        if outcome.stopped:
            return "Stopped", None
        if outcome.timed_out:
            self._timed_out = True
            return "Stopped", None
        if outcome.exit_code == 0:
            return "Completed", None
        return "Failed", self.failure_reason(outcome)

    def _finish(self, status: str, reason: str | None) -> None:
        job = self.job
        job.training_end_time = utcnow()
        if job.training_start_time is not None:
            seconds = max(1, int((job.training_end_time - job.training_start_time).total_seconds()))
            job.billable_time_in_seconds = job.training_time_in_seconds = seconds
        if self.metrics:
            job.final_metric_data_list = [
                {"MetricName": name, "Value": value, "Timestamp": stamp}
                for name, (value, stamp) in sorted(self.metrics.items())
            ]
        secondary = {"Completed": "Completed", "Failed": "Failed"}.get(status, "Stopped")
        if self._timed_out:
            secondary = "MaxRuntimeExceeded"
        message = {
            "Completed": "Training job completed",
            "Failed": "Training job failed",
        }.get(status, "Training job stopped")
        job.failure_reason = reason
        job.training_job_status = status
        self._transition(secondary, message, final=True)

    def _periodic_sync(self) -> None:
        if time.monotonic() - self._last_sync >= self.settings.checkpoint_sync_s:
            for checkpoints in self._checkpoints:
                checkpoints.sync()
            self._last_sync = time.monotonic()

    def _start(self, host: str, setup: HostSetup) -> None:
        """Starts ``host``'s container: the toolkit and the program, or ContainerEntrypoint."""
        spec = self.request.get("AlgorithmSpecification") or {}
        sandbox = self.sandbox_of(host)
        python = self.settings.python
        # AWS developer guide, "How Amazon SageMaker Provides Training Information".
        job_vars = {"TRAINING_JOB_NAME": self.name, "TRAINING_JOB_ARN": self.job.arn}
        extra = {**job_vars, **rewrite(self.request.get("Environment") or {}, sandbox.root)}
        toolkit = None
        if spec.get("ContainerEntrypoint"):
            argv = spec["ContainerEntrypoint"] + (spec.get("ContainerArguments") or [])
            argv = interpreter(rewrite(argv, sandbox.root), python)
        else:
            program = setup.decoded.get(contract.PROGRAM)
            if not program:
                raise JobError(
                    "AlgorithmError: no entry point: the local cloud runs the hyperparameter "
                    f"{contract.PROGRAM} (with {contract.SUBMIT_DIRECTORY}) as the framework "
                    "containers do, or AlgorithmSpecification.ContainerEntrypoint"
                )
            program = str(program)
            submit = setup.decoded.get(contract.SUBMIT_DIRECTORY)
            toolkit = (program, str(submit) if submit else None)
            argv = entry_command(python, program, setup.decoded, self._cluster, host)
            extra = {**self._sm_env(host, setup, program, submit), **extra}
        launch = Launch(
            host=host,
            argv=argv,
            cwd=sandbox.code_dir,
            sandbox=sandbox.root,
            namespaces=self._namespaces(host),
            toolkit=toolkit,
        )
        env = self.settings.job_env(self.region, extra, self.pip_report(host))
        self._launch(launch, env, on_line=self._match_metrics)

    def _sm_env(self, host: str, setup: HostSetup, program: str, submit: Any) -> dict[str, str]:
        return contract.environment(
            job_name=self.name,
            sandbox=self.sandbox_of(host),
            channels=setup.channels,
            decoded=setup.decoded,
            program=program,
            instance_type=(self.request.get("ResourceConfig") or {}).get("InstanceType", "local"),
            module_dir=str(submit or self.sandbox_of(host).code_dir),
            host=host,
            hosts=self.hosts,
        )

    def _namespaces(self, host: str) -> Namespaces:
        if len(self.hosts) == 1:
            return Namespaces(network=self.isolated)
        if self._hosts_file is None:
            self._hosts_file = self.hosts_file()
        leader = self.hosts[0]
        if self.isolated and host != leader:
            return Namespaces(join=self._processes[leader].pid, hosts_file=self._hosts_file)
        return Namespaces(network=self.isolated, hosts_file=self._hosts_file)

    def _match_metrics(self, line: str) -> None:
        for name, pattern in self._metric_patterns:
            match = pattern.search(line)
            if match:
                with contextlib.suppress(IndexError, ValueError):
                    self.metrics[name] = (float(match.group(1)), utcnow())

    def _upload_results(self, s3: Any) -> None:
        self.job.model_artifacts = training_outputs.upload(
            s3, self.request, self.name, [self.sandbox_of(host) for host in self.hosts]
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
