"""Teaches moto's Step Functions interpreter the SageMaker integrations."""

from __future__ import annotations

from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
    state_task_service_factory,
)

from localcloud.sagemaker.patching import Patches
from localcloud.sagemaker.sfn_service import StateTaskServiceSageMaker

_PATCHES = Patches()


def apply() -> None:
    """Routes ``arn:aws:states:::sagemaker:*`` to the local integration (once per process).

    Also names SageMaker errors in the ``aws-sdk`` integration as AWS does
    (``SageMaker.ResourceNotFoundException``; ``SageMaker.SageMakerException`` for errors the SDK
    does not model, such as ValidationException), and maps ``aws-sdk:sagemakerruntime:*`` to
    boto3's ``sagemaker-runtime``.
    """
    if _PATCHES.applied:
        return
    original = state_task_service_factory.state_task_service_for

    def state_task_service_for(service_name: str) -> state_task_service.StateTaskService:
        if service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        return original(service_name)

    _PATCHES.set(state_task_service_factory, "state_task_service_for", state_task_service_for)
    # state_task_factory imported the function by name, so it needs the new one too.
    _PATCHES.set(state_task_factory, "state_task_service_for", state_task_service_for)
    _PATCHES.set(
        state_task_service_aws_sdk,
        "_SERVICE_ERROR_NAMES",
        {
            **state_task_service_aws_sdk._SERVICE_ERROR_NAMES,
            "sagemaker": "SageMaker",
            "sagemakerruntime": "SageMakerRuntime",
        },
    )
    service = state_task_service.StateTaskService
    _PATCHES.set(
        service,
        "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        {**service._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, "sagemakerruntime": "sagemaker-runtime"},
    )


def restore() -> None:
    """Gives moto's interpreter back its own behaviour."""
    _PATCHES.restore()
