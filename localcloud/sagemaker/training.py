"""A training job run as a local process, with the framework container's contract."""

from __future__ import annotations

import contextlib
import copy
import re
import time
from typing import Any

from moto.core.utils import utcnow

from localcloud.sagemaker import contract, s3io, training_inputs
from localcloud.sagemaker.jobrun import JobError, JobRun, Outcome, interpreter
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import rewrite


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
        sandbox = self.fresh_sandbox()
        raw = rewrite(self.request.get("HyperParameters") or {}, sandbox.root)
        decoded = contract.decode(raw)
        training_inputs.write_config(sandbox, self.request, raw)
        self._transition("Downloading", "Downloading input data")
        channels = training_inputs.download_channels(s3, sandbox, self.request)
        training_inputs.download_code(s3, sandbox, decoded)
        checkpoints = training_inputs.prepare_checkpoints(s3, sandbox, self.request)
        if self.stop_requested:
            return "Stopped", None
        argv, env = self._command(decoded, channels)
        self._transition("Training", "Training image download completed. Training in progress.")
        self.job.training_start_time = utcnow()
        outcome = self._supervise(
            argv,
            cwd=sandbox.code_dir,
            env=env,
            sink=sink,
            max_runtime_s=(self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"),
            on_line=self._match_metrics,
            on_tick=(lambda: self._periodic_sync(checkpoints)) if checkpoints else None,
        )
        self._transition("Uploading", "Uploading generated training model")
        if checkpoints is not None:
            checkpoints.sync()
        if outcome.exit_code == 0 or outcome.stopped or outcome.timed_out:
            self._upload_results(s3)
        return self._status_of(outcome)

    def _status_of(self, outcome: Outcome) -> tuple[str, str | None]:
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

    def _periodic_sync(self, checkpoints: s3io.DirSync) -> None:
        if time.monotonic() - self._last_sync >= self.settings.checkpoint_sync_s:
            checkpoints.sync()
            self._last_sync = time.monotonic()

    def _command(self, decoded: dict[str, Any], channels: list[str]) -> tuple[list[str], dict]:
        spec = self.request.get("AlgorithmSpecification") or {}
        resources = self.request.get("ResourceConfig") or {}
        extra = rewrite(self.request.get("Environment") or {}, self.sandbox.root)
        if spec.get("ContainerEntrypoint"):
            argv = spec["ContainerEntrypoint"] + (spec.get("ContainerArguments") or [])
            argv = interpreter(rewrite(argv, self.sandbox.root), self.settings.python)
            return argv, self.settings.process_env(self.region, extra)
        program = decoded.get(contract.PROGRAM)
        if not program:
            raise JobError(
                "AlgorithmError: no entry point: the local cloud runs the hyperparameter "
                f"{contract.PROGRAM} (with {contract.SUBMIT_DIRECTORY}) as the framework "
                "containers do, or AlgorithmSpecification.ContainerEntrypoint"
            )
        program = str(program)
        if not (self.sandbox.code_dir / program).is_file():
            raise JobError(
                f"AlgorithmError: entry point {program!r} not found in "
                f"{decoded.get(contract.SUBMIT_DIRECTORY) or 'the job (no submit directory)'}"
            )
        count = int(resources.get("InstanceCount") or 1)
        if program.endswith(".py") and contract.wants_torchrun(decoded, count):
            launcher = [
                self.settings.python,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--nproc_per_node={count}",
                program,
            ]
        elif program.endswith(".py"):
            launcher = [self.settings.python, program]
        elif program.endswith(".sh"):
            launcher = ["bash", program]
        else:
            launcher = [f"./{program}"]
        argv = launcher + contract.to_cmd_args(contract.user_hyperparameters(decoded))
        sm_env = contract.environment(
            job_name=self.name,
            sandbox=self.sandbox,
            channels=channels,
            decoded=decoded,
            program=program,
            instance_type=resources.get("InstanceType", "local"),
            module_dir=str(decoded.get(contract.SUBMIT_DIRECTORY) or self.sandbox.code_dir),
        )
        return argv, self.settings.process_env(self.region, {**sm_env, **extra})

    def _match_metrics(self, line: str) -> None:
        for name, pattern in self._metric_patterns:
            match = pattern.search(line)
            if match:
                with contextlib.suppress(IndexError, ValueError):
                    self.metrics[name] = (float(match.group(1)), utcnow())

    def _upload_results(self, s3: Any) -> None:
        output = self.request["OutputDataConfig"]
        base = f"{output['S3OutputPath'].rstrip('/')}/{self.name}/output"
        if (output.get("CompressionType") or "GZIP").upper() == "NONE":
            s3io.upload_dir(s3, self.sandbox.model_dir, f"{base}/model/")
            artifacts = f"{base}/model/"
        else:
            s3io.upload_tarball(s3, self.sandbox.model_dir, f"{base}/model.tar.gz")
            artifacts = f"{base}/model.tar.gz"
        self.job.model_artifacts = {"S3ModelArtifacts": artifacts}
        if any(self.sandbox.output_data_dir.iterdir()):
            s3io.upload_tarball(s3, self.sandbox.output_data_dir, f"{base}/output.tar.gz")
