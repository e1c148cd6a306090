"""Teaches moto's Step Functions interpreter the SageMaker integrations."""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
    state_task_service_factory,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from localcloud.patching import Patches
from localcloud.sagemaker import sfn_permissions
from localcloud.sagemaker.sfn_service import StateTaskServiceSageMaker

PATCHES = Patches()


def install() -> Patches:
    """Routes ``arn:aws:states:::sagemaker:*`` to the local integration (once per process).

    Also names SageMaker errors in the ``aws-sdk`` integration as AWS does
    (``SageMaker.ResourceNotFoundException``; ``SageMaker.SageMakerException`` for errors the SDK
    does not model, such as ValidationException), and maps ``aws-sdk:sagemakerruntime:*`` to
    boto3's ``sagemaker-runtime``.
    """
    if PATCHES.applied:
        return PATCHES

    def state_task_service_for(service_name: str) -> state_task_service.StateTaskService:
        if service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        moto_service_for = PATCHES.original(state_task_service_factory, "state_task_service_for")
        return moto_service_for(service_name)

    PATCHES.set(state_task_service_factory, "state_task_service_for", state_task_service_for)
    # state_task_factory imported the function by name, so it needs the new one too.
    PATCHES.set(state_task_factory, "state_task_service_for", state_task_service_for)
    PATCHES.set(
        state_task_service_aws_sdk,
        "_SERVICE_ERROR_NAMES",
        {
            **state_task_service_aws_sdk._SERVICE_ERROR_NAMES,
            "sagemaker": "SageMaker",
            "sagemakerruntime": "SageMakerRuntime",
        },
    )
    service = state_task_service.StateTaskService
    PATCHES.set(
        service,
        "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        {**service._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, "sagemakerruntime": "sagemaker-runtime"},
    )
    _refuse_unmanageable_rules()
    return PATCHES


def _refuse_unmanageable_rules() -> None:
    """CreateStateMachine and UpdateStateMachine (also through CloudFormation) refuse a ``.sync``
    SageMaker task whose role may not keep its managed rule, as AWS does."""
    backend = StepFunctionsParserBackend

    def check(self: Any, definition: str | None, role_arn: str | None) -> None:
        if (
            definition
            and role_arn
            and sfn_permissions.managed_rules_denied(definition, role_arn, self.region_name)
        ):
            message = sfn_permissions.managed_rule_refusal(role_arn)
            raise AWSError(message, "AccessDeniedException")

    def create_state_machine(self: Any, name: str, definition: str, roleArn: str, **kw: Any) -> Any:
        check(self, definition, roleArn)
        moto_create = PATCHES.original(backend, "create_state_machine")
        return moto_create(self, name, definition, roleArn, **kw)

    def update_state_machine(
        self: Any, arn: str, definition: Any = None, role_arn: Any = None, **kw: Any
    ) -> Any:
        if definition is not None or role_arn is not None:
            current = self.describe_state_machine(arn)
            check(self, definition or current.definition, role_arn or current.roleArn)
        moto_update = PATCHES.original(backend, "update_state_machine")
        return moto_update(self, arn, definition, role_arn, **kw)

    PATCHES.set(backend, "create_state_machine", create_state_machine)
    PATCHES.set(backend, "update_state_machine", update_state_machine)


def uninstall() -> None:
    """Gives moto's interpreter back its own behaviour."""
    PATCHES.restore()
