"""A SageMaker client double for executing the state machine in moto's interpreter.

It answers the calls the workflow makes, checks every request against botocore's SageMaker
model (so a malformed request in the definition fails the test), keeps what exists (jobs,
models, configs, endpoints) so a test can assert nothing is left running, and fails where the
test says: a job, an endpoint that ends Failed, one that never leaves Creating. Each endpoint
goes through ``endpoint_statuses``, or through ``statuses_by_suffix`` for the one whose name
ends with that suffix (``-base``: the base model's endpoint). For the stopped-run cleanup, a test
seeds the run's first job (``run_started``) and what the stopped run left behind
(``left_behind``), and may refuse an endpoint's delete (``refused_deletes``) or the first job's
look-up (``refused_lookups``). A champion is an Approved model package in the registry
(``approved_package``), which the evaluation job scores at ``champion_value``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters


def _model():
    return botocore.session.get_session().get_service_model("sagemaker")


_SAGEMAKER = _model()
ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
# How long every job runs, as its Describe* answer tells (billable: half of it with spot).
JOB_SECONDS = 600
# The files a training job's model folder holds, as far as the workflow cares.
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")
_OPERATIONS = {
    "".join(word.capitalize() for word in name.split("_")): name
    for name in (
        "create_processing_job",
        "describe_processing_job",
        "stop_processing_job",
        "create_training_job",
        "describe_training_job",
        "stop_training_job",
        "create_model",
        "delete_model",
        "create_endpoint_config",
        "delete_endpoint_config",
        "create_endpoint",
        "describe_endpoint",
        "delete_endpoint",
        "create_model_package",
        "list_model_packages",
        "describe_model_package",
    )
}


def _not_found(operation: str, what: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ValidationException", "Message": f"Could not find {what}"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "stub"},
        },
        operation,
    )


@dataclass
class SageMakerStub:
    """What the test controls, and what the workflow did."""

    s3_endpoint: str
    failing_jobs: dict[str, str] = field(default_factory=dict)  # name suffix -> FailureReason
    endpoint_statuses: list[str] = field(default_factory=lambda: ["Creating", "InService"])
    statuses_by_suffix: dict[str, list[str]] = field(default_factory=dict)
    endpoint_failure_reason: str = "The primary container did not pass the ping health check"
    gate_value: Any = 0.9
    champion_value: Any = 0.5
    calls: list[tuple[str, dict]] = field(default_factory=list)
    jobs: dict[str, dict] = field(default_factory=dict)
    models: set[str] = field(default_factory=set)
    endpoint_configs: set[str] = field(default_factory=set)
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    model_packages: list[dict] = field(default_factory=list)
    refused_deletes: set[str] = field(default_factory=set)  # endpoint names
    refused_lookups: set[str] = field(default_factory=set)  # processing job names
    # Transient failures: how many of the next Describe* calls naming a job or endpoint are
    # throttled; how many CreateModelPackage calls answer 500 after registering.
    throttled: dict[str, int] = field(default_factory=dict)
    lost_register_answers: int = 0
    omit_failure_reason: bool = False  # DescribeEndpoint's FailureReason is optional in the API
    endpoint_created: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str):
        if name not in _OPERATIONS.values():
            raise AttributeError(name)
        operation = next(op for op, method in _OPERATIONS.items() if method == name)

        def call(**params: Any) -> dict:
            shape = _SAGEMAKER.operation_model(operation).input_shape
            validate_parameters(params, shape)  # raises ParamValidationError naming the field
            self.calls.append((operation, params))
            return getattr(self, f"_{name}")(**params)

        return call

    def left_behind(self, name: str, statuses: list[str] | None = None) -> None:
        """A model, endpoint config and endpoint named ``name``, as a stopped run leaves them;
        the endpoint goes through ``statuses`` (InService by default)."""
        self.models.add(name)
        self.endpoint_configs.add(name)
        self.endpoints[name] = list(statuses or ["InService"])

    def approved_package(self, group: str, model_data: str, container: bool = True) -> str:
        """An Approved version in ``group`` serving ``model_data``, as the gate registers one
        (``container=False``: a package with no S3 model prefix); returns its ARN."""
        spec = {
            "Containers": [
                {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1",
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": model_data,
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                }
                if container
                else {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1"}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        }
        self.model_packages.append(
            {
                "ModelPackageGroupName": group,
                "ModelApprovalStatus": "Approved",
                "InferenceSpecification": spec,
            }
        )
        return f"{ARN_PREFIX}:model-package/{group}/{len(self.model_packages)}"

    def run_started(self, run_name: str, execution_arn: str | None) -> None:
        """The run's first job, ``<run_name>-prepare``, as the execution ``execution_arn``
        created it (the state machine's request names its execution in the environment;
        None: a job that names none)."""
        environment = {"PYTHONUNBUFFERED": "1"}
        if execution_arn is not None:
            environment["STARTED_BY_EXECUTION"] = execution_arn
        self.jobs[f"{run_name}-prepare"] = {
            "params": {"Environment": environment},
            "status": "Completed",
            "reason": None,
        }

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def left_running(self) -> dict[str, Any]:
        """Everything created and not deleted (jobs end by themselves)."""
        return {
            "models": sorted(self.models),
            "endpoint_configs": sorted(self.endpoint_configs),
            "endpoints": sorted(self.endpoints),
        }

    # Jobs: they end at once, Completed unless the test made their suffix fail.
    def _create_job(self, name: str, params: dict, kind: str) -> dict:
        if name in self.jobs:  # SageMaker keeps a job's name for good
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": "Job name must be unique within an AWS account and region, "
                        "and a job with this name already exists",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "stub"},
                },
                f"Create{kind.capitalize()}Job",
            )
        reason = next((r for suffix, r in self.failing_jobs.items() if name.endswith(suffix)), None)
        self.jobs[name] = {
            "params": params,
            "status": "Failed" if reason else "Completed",
            "reason": reason,
            "created": datetime.now(UTC),
        }
        if kind == "processing" and name.endswith("-evaluate") and reason is None:
            self._write_report(params)
        if kind == "training" and reason is None:
            self._write_model(params, name)
        return {f"{kind.capitalize()}JobArn": f"{ARN_PREFIX}:{kind}-job/{name}"}

    def _throttle(self, name: str, operation: str) -> None:
        if self.throttled.get(name, 0) > 0:
            self.throttled[name] -= 1
            raise ClientError(
                {
                    "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "stub"},
                },
                operation,
            )

    def _describe_job(self, name: str, kind: str) -> dict:
        operation = f"Describe{kind.capitalize()}Job"
        self._throttle(name, operation)
        if name in self.refused_lookups:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": f"User is not authorized to perform: sagemaker:{operation}",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "stub"},
                },
                operation,
            )
        job = self.jobs.get(name)
        if job is None:
            raise _not_found(operation, f"requested job with name {name}")
        status_key = "ProcessingJobStatus" if kind == "processing" else "TrainingJobStatus"
        prefix = kind.capitalize()
        description = {
            f"{prefix}JobName": name,
            f"{prefix}JobArn": f"{ARN_PREFIX}:{kind}-job/{name}",
            status_key: job["status"],
        }
        if job["reason"]:
            description["FailureReason"] = job["reason"]
        if "Environment" in job["params"]:
            description["Environment"] = job["params"]["Environment"]
        if kind == "training":
            output = job["params"]["OutputDataConfig"]["S3OutputPath"]
            description["ModelArtifacts"] = {"S3ModelArtifacts": f"{output}{name}/output/model/"}
        description.update(_job_times(job, kind))
        return description

    def _s3(self):
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="ak",
            aws_secret_access_key="sk",
        )

    def _write_model(self, params: dict, name: str) -> None:
        """What a training job uploads: an uncompressed model under <output><job>/output/model/."""
        output = params["OutputDataConfig"]["S3OutputPath"]
        bucket, _, prefix = output.removeprefix("s3://").partition("/")
        for file in MODEL_FILES:
            key = f"{prefix}{name}/output/model/{file}"
            self._s3().put_object(Bucket=bucket, Key=key, Body=file.encode())

    def _write_report(self, params: dict) -> None:
        target = params["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        bucket, _, prefix = target.removeprefix("s3://").partition("/")
        arguments = params["AppSpecification"]["ContainerArguments"]
        gate = {"metric": arguments[arguments.index("--metric") + 1], "value": self.gate_value}
        if "--champion-endpoint-name" in arguments:
            gain = float(arguments[arguments.index("--min-improvement") + 1])
            value = self.champion_value
            bar = round(value + gain, 9) if isinstance(value, int | float) else None
            gate["champion"] = {"value": value, "bar": bar}
        body = json.dumps({"gate": gate, "metrics": {gate["metric"]: self.gate_value}})
        self._s3().put_object(Bucket=bucket, Key=f"{prefix}report.json", Body=body.encode())
        page = "<!doctype html><html><body><h1>Evaluation</h1></body></html>"
        self._s3().put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=page.encode())

    def _create_processing_job(self, **params: Any) -> dict:
        return self._create_job(params["ProcessingJobName"], params, "processing")

    def _describe_processing_job(self, ProcessingJobName: str) -> dict:
        return self._describe_job(ProcessingJobName, "processing")

    def _create_training_job(self, **params: Any) -> dict:
        return self._create_job(params["TrainingJobName"], params, "training")

    def _describe_training_job(self, TrainingJobName: str) -> dict:
        return self._describe_job(TrainingJobName, "training")

    def _stop_processing_job(self, **params: Any) -> dict:
        return {}

    def _stop_training_job(self, **params: Any) -> dict:
        return {}

    def _create_model(self, **params: Any) -> dict:
        self.models.add(params["ModelName"])
        return {"ModelArn": f"{ARN_PREFIX}:model/{params['ModelName']}"}

    def _create_endpoint_config(self, **params: Any) -> dict:
        assert params["ProductionVariants"][0]["ModelName"] in self.models
        self.endpoint_configs.add(params["EndpointConfigName"])
        return {"EndpointConfigArn": ARN_PREFIX + ":endpoint-config/x"}

    def _create_endpoint(self, **params: Any) -> dict:
        assert params["EndpointConfigName"] in self.endpoint_configs
        name = params["EndpointName"]
        statuses = next(
            (s for suffix, s in self.statuses_by_suffix.items() if name.endswith(suffix)),
            self.endpoint_statuses,
        )
        self.endpoints[name] = list(statuses)
        self.endpoint_created[name] = _iso(datetime.now(UTC))
        return {"EndpointArn": f"{ARN_PREFIX}:endpoint/{params['EndpointName']}"}

    def _describe_endpoint(self, EndpointName: str) -> dict:
        self._throttle(EndpointName, "DescribeEndpoint")
        statuses = self.endpoints.get(EndpointName)
        if statuses is None:
            raise _not_found("DescribeEndpoint", f'endpoint "{EndpointName}"')
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        description = {
            "EndpointName": EndpointName,
            "EndpointStatus": status,
            "CreationTime": self.endpoint_created.get(EndpointName, _iso(datetime.now(UTC))),
        }
        if status == "Failed" and not self.omit_failure_reason:
            description["FailureReason"] = self.endpoint_failure_reason
        return description

    def _delete_endpoint(self, EndpointName: str) -> dict:
        if EndpointName in self.refused_deletes:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": "User is not authorized to perform: sagemaker:DeleteEndpoint",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "stub"},
                },
                "DeleteEndpoint",
            )
        statuses = self.endpoints.get(EndpointName)
        if statuses is None:
            raise _not_found("DeleteEndpoint", f'endpoint "{EndpointName}"')
        if statuses[0] == "Creating":
            raise _not_found("DeleteEndpoint", f"a settled endpoint: {EndpointName} is Creating")
        del self.endpoints[EndpointName]
        return {}

    def _delete_endpoint_config(self, EndpointConfigName: str) -> dict:
        if EndpointConfigName not in self.endpoint_configs:
            raise _not_found("DeleteEndpointConfig", f'endpoint config "{EndpointConfigName}"')
        self.endpoint_configs.remove(EndpointConfigName)
        return {}

    def _delete_model(self, ModelName: str) -> dict:
        if ModelName not in self.models:
            raise _not_found("DeleteModel", f'model "{ModelName}"')
        self.models.remove(ModelName)
        return {}

    def _create_model_package(self, **params: Any) -> dict:
        group = params["ModelPackageGroupName"]
        # The same ClientToken (an idempotency token) returns the version it created.
        for version, earlier in enumerate(self.model_packages, 1):
            if params.get("ClientToken") and earlier.get("ClientToken") == params["ClientToken"]:
                return {"ModelPackageArn": f"{ARN_PREFIX}:model-package/{group}/{version}"}
        self.model_packages.append(params)
        if self.lost_register_answers > 0:  # registered, but the answer did not come back
            self.lost_register_answers -= 1
            raise ClientError(
                {
                    "Error": {"Code": "InternalFailure", "Message": "An internal error occurred"},
                    "ResponseMetadata": {"HTTPStatusCode": 500, "RequestId": "stub"},
                },
                "CreateModelPackage",
            )
        arn = f"{ARN_PREFIX}:model-package/{group}/{len(self.model_packages)}"
        return {"ModelPackageArn": arn}

    def _list_model_packages(self, **params: Any) -> dict:
        """Newest first by creation (the order versions are made in), filtered by status."""
        group = params["ModelPackageGroupName"]
        assert (params.get("SortBy"), params.get("SortOrder")) == ("CreationTime", "Descending")
        found = [
            {
                "ModelPackageGroupName": group,
                "ModelPackageVersion": version,
                "ModelPackageArn": f"{ARN_PREFIX}:model-package/{group}/{version}",
                "CreationTime": "2026-01-01T00:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": package.get("ModelApprovalStatus", "PendingManualApproval"),
            }
            for version, package in enumerate(self.model_packages, 1)
            if package["ModelPackageGroupName"] == group
            and package.get("ModelApprovalStatus")
            == params.get("ModelApprovalStatus", package.get("ModelApprovalStatus"))
        ]
        return {"ModelPackageSummaryList": found[::-1][: params.get("MaxResults", 100)]}

    def _describe_model_package(self, ModelPackageName: str) -> dict:
        group, _, version = ModelPackageName.rsplit(":model-package/", 1)[-1].partition("/")
        number = int(version) if version.isdigit() else 0
        if not 1 <= number <= len(self.model_packages):
            raise _not_found("DescribeModelPackage", f"model package {ModelPackageName}")
        package = self.model_packages[number - 1]
        return {
            "ModelPackageName": group,
            "ModelPackageGroupName": group,
            "ModelPackageVersion": number,
            "ModelPackageArn": ModelPackageName,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": package.get("ModelApprovalStatus", "PendingManualApproval"),
            "InferenceSpecification": package["InferenceSpecification"],
        }


def _iso(moment: datetime) -> str:
    """A timestamp as Step Functions passes an aws-sdk result's on (ISO 8601 text)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _job_times(job: dict, kind: str) -> dict:
    """What DescribeTrainingJob / DescribeProcessingJob say of resources and times: the job
    ran JOB_SECONDS from its creation (botocore's response shapes name the fields)."""
    params, created = job["params"], job.get("created", datetime.now(UTC))
    ended = created + timedelta(seconds=JOB_SECONDS)
    if kind == "training":
        spot = bool(params.get("EnableManagedSpotTraining"))
        times = {
            "EnableManagedSpotTraining": spot,
            "TrainingStartTime": _iso(created),
            "TrainingEndTime": _iso(ended),
            "TrainingTimeInSeconds": JOB_SECONDS,
            "BillableTimeInSeconds": JOB_SECONDS // 2 if spot else JOB_SECONDS,
        }
        if "ResourceConfig" in params:
            times["ResourceConfig"] = params["ResourceConfig"]
        return times
    times = {"ProcessingStartTime": _iso(created), "ProcessingEndTime": _iso(ended)}
    if "ProcessingResources" in params:
        times["ProcessingResources"] = params["ProcessingResources"]
    return times
