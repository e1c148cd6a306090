"""A processing job run as a local process: inputs in, the container command, outputs out.

``NetworkConfig.EnableNetworkIsolation`` runs the command without network (see
:mod:`localcloud.sagemaker.isolation`); the inputs and outputs still travel, outside it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.core.utils import utcnow

from localcloud.sagemaker import contract, s3io
from localcloud.sagemaker.job_outcome import JobError
from localcloud.sagemaker.jobrun import JobRun
from localcloud.sagemaker.launcher import Launch, Namespaces, interpreter
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import rewrite


class ProcessingRun(JobRun):
    """Runs one CreateProcessingJob request and keeps its moto ``FakeProcessingJob`` up to date."""

    kind = "ProcessingJobs"

    def __init__(self, job: Any, request: dict[str, Any], account: str, region: str):
        super().__init__(request["ProcessingJobName"], account, region)
        self.job = job
        self.request = copy.deepcopy(request)
        # moto's mock marks the job Completed at once and drops these fields; undo that.
        job.environment = request.get("Environment")
        job.processing_resources = request.get("ProcessingResources")
        job.processing_job_status = "InProgress"
        job.processing_start_time = job.processing_end_time = None
        job.failure_reason = job.exit_message = None
        job.last_modified_time = utcnow()

    def request_stop(self) -> None:
        super().request_stop()
        if self.job.processing_job_status == "InProgress":
            self.job.processing_job_status = "Stopping"
            self.job.last_modified_time = utcnow()

    def _execute(self, sink: LogSink) -> tuple[str, str | None]:
        s3 = self.s3()
        sandbox = self.fresh_sandbox()
        asked = bool((self.request.get("NetworkConfig") or {}).get("EnableNetworkIsolation"))
        self.isolated = asked and not self.namespaces_problem(
            sink, "enforce network isolation", "the job runs with the network"
        )
        self._write_config()
        self._download_inputs(s3)
        self._make_output_folders()
        if self.stop_requested:
            return "Stopped", None
        app = self.request.get("AppSpecification") or {}
        argv = (app.get("ContainerEntrypoint") or []) + (app.get("ContainerArguments") or [])
        if not argv:
            raise JobError(
                "AlgorithmError: AppSpecification has no ContainerEntrypoint: the local cloud "
                "cannot run an image's built-in entry point"
            )
        argv = interpreter(rewrite(argv, sandbox.root), self.settings.python)
        extra = rewrite(self.request.get("Environment") or {}, sandbox.root)
        env = self.settings.job_env(self.region, extra, self.pip_report(contract.HOST))
        self.job.processing_start_time = utcnow()
        launch = Launch(
            host=contract.HOST,
            argv=argv,
            cwd=sandbox.root,
            sandbox=sandbox.root,
            namespaces=Namespaces(network=self.isolated),
        )
        self._launch(launch, env)
        outcome = self._watch(
            max_runtime_s=(self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"),
        )
        if outcome.refused:
            return "Failed", self.failure_reason(outcome)
        if outcome.stopped or outcome.timed_out:
            return "Stopped", None
        if outcome.exit_code != 0:
            return "Failed", self.failure_reason(outcome)
        self._upload_outputs(s3)
        return "Completed", None

    def _finish(self, status: str, reason: str | None) -> None:
        job = self.job
        message = self.sandbox.output_dir / "message"
        if message.is_file():
            job.exit_message = message.read_text(errors="replace")[:1024]
        job.failure_reason = reason
        job.processing_end_time = job.last_modified_time = utcnow()
        job.processing_job_status = status

    def _write_config(self) -> None:
        config = self.sandbox.root / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "processingjobconfig.json").write_text(json.dumps(self.request, indent=2))
        instance = (self.request.get("ProcessingResources") or {}).get("ClusterConfig", {})
        (config / "resourceconfig.json").write_text(
            json.dumps(
                {
                    "current_host": "algo-1",
                    "hosts": ["algo-1"],
                    "current_instance_type": instance.get("InstanceType", "local"),
                },
                indent=2,
            )
        )

    def _download_inputs(self, s3: Any) -> None:
        for item in self.request.get("ProcessingInputs") or []:
            source = item.get("S3Input")
            if source is None:
                raise JobError(
                    f"ClientError: input {item.get('InputName')!r} is not an S3Input; the local "
                    "cloud does not emulate DatasetDefinition inputs"
                )
            target = self.sandbox.local(source["LocalPath"])
            target.mkdir(parents=True, exist_ok=True)
            if source.get("S3DataType") == "ManifestFile":
                s3io.download_manifest(s3, source["S3Uri"], target)
            else:
                s3io.download_prefix(s3, source["S3Uri"], target)
            if (source.get("S3CompressionType") or "None") == "Gzip":
                raise JobError("ClientError: S3CompressionType Gzip is not emulated locally")

    def _make_output_folders(self) -> None:
        # "This directory will be created by the platform and exist when your container's
        # entrypoint is invoked" (botocore's SageMaker model, ProcessingS3Output.LocalPath).
        for item in (self.request.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            if item.get("S3Output"):
                self.sandbox.local(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)

    def _upload_outputs(self, s3: Any) -> None:
        config = self.request.get("ProcessingOutputConfig") or {}
        for item in config.get("Outputs") or []:
            target = item.get("S3Output")
            if target is None:
                continue  # FeatureStoreOutput: not emulated
            folder = self.sandbox.local(target["LocalPath"])
            if folder.is_dir():
                s3io.upload_dir(s3, folder, target["S3Uri"])
