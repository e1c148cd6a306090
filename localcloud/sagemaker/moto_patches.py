"""Patches to moto's SageMaker mock so its API drives real local jobs and endpoints."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeEndpointConfig, ModelPackage, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from localcloud.patching import Patches
from localcloud.sagemaker import invoke, registry
from localcloud.sagemaker.endpoints import KIND as ENDPOINTS
from localcloud.sagemaker.endpoints import EndpointRun
from localcloud.sagemaker.processing import ProcessingRun
from localcloud.sagemaker.training import TrainingRun, metric_patterns

PATCHES = Patches()


def _arn(kind: str, name: str, backend: Any) -> str:
    return sm_models.arn_formatter(kind, name, backend.account_id, backend.region_name)


def _create_training_job(self: SageMakerResponse) -> ActionResult:
    backend, name = self.sagemaker_backend, self._get_param("TrainingJobName")
    if name in backend.training_jobs:
        raise ResourceInUseException(
            "Training job names must be unique within an AWS account and region, and a training "
            f"job with this name already exists ({_arn('training-job', name, backend)})"
        )
    request = copy.deepcopy(self.params)
    try:
        metric_patterns(request)  # before moto creates the job, so a refusal leaves nothing
    except ValueError as error:
        raise ValidationError(str(error)) from error
    result = PATCHES.original(SageMakerResponse, "create_training_job")(self)
    job = backend.training_jobs[name]
    TrainingRun(job, request, backend.account_id, backend.region_name).start()
    return result


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    backend, name = self.sagemaker_backend, self._get_param("TrainingJobName")
    job = backend.training_jobs.get(name)
    if job is None:
        raise ValidationError(f"Requested resource not found: training job {name}")
    run = registry.get(
        registry.key(TrainingRun.kind, backend.account_id, backend.region_name, name)
    )
    if run is None or job.training_job_status != "InProgress":
        raise ValidationError(
            "The request was rejected because the training job is in status "
            f"{job.training_job_status}."
        )
    run.request_stop()
    return EmptyResult()


def _create_processing_job(self: SageMakerResponse) -> ActionResult:
    backend, name = self.sagemaker_backend, self._get_param("ProcessingJobName")
    if name in backend.processing_jobs:
        raise ResourceInUseException(
            f"Job name must be unique within an AWS account and region, and a job with this name "
            f"already exists ({_arn('processing-job', name, backend)})"
        )
    request = copy.deepcopy(self.params)
    result = PATCHES.original(SageMakerResponse, "create_processing_job")(self)
    job = backend.processing_jobs[name]
    ProcessingRun(job, request, backend.account_id, backend.region_name).start()
    return result


def _stop_processing_job(self: SageMakerModelBackend, processing_job_name: str) -> None:
    job = self.processing_jobs.get(processing_job_name)
    key = registry.key(ProcessingRun.kind, self.account_id, self.region_name, processing_job_name)
    run = registry.get(key)
    if job is None or run is None or job.processing_job_status != "InProgress":
        status = job.processing_job_status if job is not None else "unknown (no such job)"
        raise ValidationError(
            f"The request was rejected because the processing job is in status {status}."
        )
    run.request_stop()


def _refuse_duplicate(method: str, store: str, kind: str, label: str) -> Callable[..., Any]:
    def create(self: SageMakerResponse) -> ActionResult:
        name = self._get_param(method)
        backend = self.sagemaker_backend
        if name in getattr(backend, store):
            raise ValidationError(
                f'Cannot create already existing {label} "{_arn(kind, name, backend)}".'
            )
        return PATCHES.original(SageMakerResponse, f"create_{kind.replace('-', '_')}")(self)

    return create


def _create_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    tags: list[dict[str, str]] | None = None,
) -> Any:
    if endpoint_name in self.endpoints:
        arn = _arn("endpoint", endpoint_name, self)
        raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
    endpoint = PATCHES.original(SageMakerModelBackend, "create_endpoint")(
        self, endpoint_name=endpoint_name, endpoint_config_name=endpoint_config_name, tags=tags
    )
    EndpointRun(self, endpoint).create()
    return endpoint


def _delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
    run = registry.remove(registry.key(ENDPOINTS, self.account_id, self.region_name, endpoint_name))
    if run is not None:
        run.stop()
    PATCHES.original(SageMakerModelBackend, "delete_endpoint")(self, endpoint_name)


def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(f'Could not find endpoint "{_arn("endpoint", name, backend)}".')
    if config not in backend.endpoint_configs:
        arn = _arn("endpoint-config", config, backend)
        raise ValidationError(f'Could not find endpoint configuration "{arn}".')
    run = registry.get(registry.key(ENDPOINTS, backend.account_id, backend.region_name, name))
    if run is None or endpoint.endpoint_status != "InService":
        raise ValidationError(
            f'Cannot update in-progress endpoint "{endpoint.arn}" '
            f"(status {endpoint.endpoint_status})."
        )
    run.update(config)
    return ActionResult({"EndpointArn": endpoint.arn})


def _update_model_package(
    self: SageMakerModelBackend,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """moto's version clears the fields a request leaves out; SageMaker keeps them."""
    package = self.model_packages.get(
        self.model_package_name_mapping.get(model_package_arn, model_package_arn)
    )
    if package is None:
        raise ValidationError(f"Model package {model_package_arn} not found")
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties:
        package.customer_metadata_properties = {
            **(package.customer_metadata_properties or {}),
            **customer_metadata_properties,
        }
    if package.customer_metadata_properties:
        package.remove_customer_metadata_property(customer_metadata_properties_to_remove)
    package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    return package.arn


def _reset(self: SageMakerModelBackend) -> None:
    # POST /moto-api/reset forgets the jobs and endpoints: their processes must go too. Not
    # waited for here: moto holds its backend lock during a reset, and stopping ships the last
    # log lines to CloudWatch Logs through this same server.
    threading.Thread(
        target=registry.stop_all, args=(self.account_id, self.region_name), daemon=True
    ).start()
    PATCHES.original(SageMakerModelBackend, "reset")(self)


def _accept_any_instance_type(*_args: Any, **_kwargs: Any) -> None:
    """Instance types are not simulated: any ``ml.*`` type the caller names is accepted."""


def install() -> Patches:
    """Installs the patches (once per process; :func:`uninstall` undoes them)."""
    if PATCHES.applied:
        return PATCHES
    response, backend = SageMakerResponse, SageMakerModelBackend
    for name, value in (
        ("create_training_job", _create_training_job),
        ("create_processing_job", _create_processing_job),
        ("create_model", _refuse_duplicate("ModelName", "_models", "model", "model")),
        (
            "create_endpoint_config",
            _refuse_duplicate(
                "EndpointConfigName",
                "endpoint_configs",
                "endpoint-config",
                "endpoint configuration",
            ),
        ),
        ("stop_training_job", _stop_training_job),
        ("update_endpoint", _update_endpoint),
    ):
        PATCHES.set(response, name, value)
    for name, value in (
        ("create_endpoint", _create_endpoint),
        ("delete_endpoint", _delete_endpoint),
        ("stop_processing_job", _stop_processing_job),
        ("update_model_package", _update_model_package),
        ("reset", _reset),
    ):
        PATCHES.set(backend, name, value)
    PATCHES.set(FakeEndpointConfig, "validate_instance_type", _accept_any_instance_type)
    for name in (
        "validate_supported_transform_instance_types",
        "validate_supported_realtime_inference_instance_types",
    ):
        PATCHES.set(ModelPackage, name, staticmethod(_accept_any_instance_type))
    PATCHES.set(SageMakerRuntimeResponse, "invoke_endpoint", invoke.invoke_endpoint)
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own SageMaker mock."""
    PATCHES.restore()
