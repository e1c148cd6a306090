"""Step Functions' optimised SageMaker integration for moto's ASL interpreter, ``.sync`` included.

Accepts the resources AWS accepts (``arn:aws:states:::sagemaker:<action>[.sync]``):

- request-response: createTrainingJob, createProcessingJob, createModel, createEndpointConfig,
  createEndpoint, updateEndpoint (the output is the API response);
- ``.sync``: createTrainingJob, createProcessingJob (polls Describe* until the job ends; the
  output is the Describe* response, timestamps as epoch milliseconds as AWS gives them).

A job that ends Failed or Stopped fails the task with ``States.TaskFailed`` and the Describe*
response (FailureReason included) as JSON in the cause, as AWS reports a failed ``.sync`` job. An
API error fails it with ``SageMaker.AmazonSageMakerException`` (or ``SageMaker.<Code>Exception``
for the errors SageMaker models, e.g. ``SageMaker.ResourceInUseException``); a request that
breaks the API's model (a name over 63 characters, an entrypoint item over 256) fails so before
anything is created, with SageMaker's ``ValidationException`` message; so does a state machine
role that lacks a permission AWS documents for the integration (``sfn_permissions``).
Everything else SageMaker offers (deleteEndpoint, stopTrainingJob, describeEndpoint, ...) is
reached as on AWS, through ``arn:aws:states:::aws-sdk:sagemaker:<action>``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, Final

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
    ResourceRuntimePart,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.utils import camel_to_snake_case

from localcloud.iam import hook
from localcloud.sagemaker import sfn_permissions
from localcloud.stepfunctions.task_credentials import SESSION, boto_client_for
from localcloud.validation.constraints import check, summary

# action (lower case) -> (Describe* call, name parameter, status field) for .sync; None: no .sync
_ACTIONS: Final[dict[str, tuple[str, str, str] | None]] = {
    "createtrainingjob": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "createprocessingjob": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    "createmodel": None,
    "createendpointconfig": None,
    "createendpoint": None,
    "updateendpoint": None,
}
_STOP_CALLS: Final[dict[str, str]] = {
    "createtrainingjob": "stop_training_job",
    "createprocessingjob": "stop_processing_job",
}
_RUNNING: Final[set[str]] = {"InProgress", "Stopping"}
_GENERIC_ERROR: Final[str] = "SageMaker.AmazonSageMakerException"


@cache
def _service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


def _operation_name(action: str) -> str | None:
    return next((op for op in _service_model().operation_names if op.lower() == action), None)


def to_epoch_millis(value: Any) -> Any:
    """Replaces every datetime inside ``value`` by epoch milliseconds, as Step Functions shows."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: to_epoch_millis(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_epoch_millis(item) for item in value]
    return value


class StateTaskServiceSageMaker(StateTaskServiceCallback):
    """``arn:aws:states:::sagemaker:*`` tasks."""

    def __init__(self) -> None:
        # waitForTaskToken is listed only so the base class sets up the callback endpoint that
        # its .sync path expects; _validate_service_integration_is_supported rejects it.
        super().__init__(
            supported_integration_patterns={
                ResourceCondition.WaitForTaskToken,
                ResourceCondition.Sync,
            }
        )

    def _action(self) -> str:
        return self.resource.api_action.lower()

    def _get_supported_parameters(self) -> set[str] | None:
        operation = _operation_name(self._action())
        if self._action() not in _ACTIONS or operation is None:
            return None
        return set(_service_model().operation_model(operation).input_shape.members)

    def _validate_service_integration_is_supported(self) -> None:
        arn = self.resource.resource_arn
        if self._get_supported_parameters() is None:
            raise ValueError(
                f"The resource provided {arn} not recognized. The optimised SageMaker integration "
                f"supports {', '.join(sorted(_ACTIONS))}; call other SageMaker APIs through "
                f"arn:aws:states:::aws-sdk:sagemaker:{self.resource.api_action}"
            )
        condition = self.resource.condition
        if condition is not None and (
            condition != ResourceCondition.Sync or _ACTIONS[self._action()] is None
        ):
            raise ValueError(f"The resource provided {arn} does not support .{condition}")

    def _eval_parameters(self, env: Environment) -> dict:
        # moto drops fields the API does not know; Step Functions refuses to start the task.
        parameters: dict = {}
        if self.parargs is not None:
            self.parargs.eval(env=env)
            parameters = env.stack.pop()
        unknown = sorted(set(parameters) - (self._get_supported_parameters() or set()))
        if unknown:
            cause = (
                f"The Parameters '{to_json_str(parameters)}' could not be used to start the Task: "
                f'[The field "{unknown[0]}" is not supported by Step Functions]'
            )
            raise FailureEventException(self._failure(env, "States.Runtime", cause))
        return parameters

    def _failure(self, env: Environment, error: str, cause: str) -> FailureEvent:
        if error.startswith("States."):
            name = StatesErrorName(typ=StatesErrorNameType.from_name(error))
        else:
            name = CustomErrorName(error)
        return FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=cause,
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    def _from_error(self, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            code = ex.response["Error"]["Code"]
            modelled = code in _service_model().shape_names
            error = f"SageMaker.{code.removesuffix('Exception')}Exception" if modelled else None
            metadata = ex.response.get("ResponseMetadata", {})
            message = ex.response["Error"].get("Message", "")
            cause = (
                f"{message} (Service: AmazonSageMaker; Status Code: "
                f"{metadata.get('HTTPStatusCode', 400)}; Error Code: {code}; Request ID: "
                f"{metadata.get('RequestId', '')}; Proxy: null)"
            )
            return self._failure(env, error or _GENERIC_ERROR, cause)
        return super()._from_error(env=env, ex=ex)

    def _client(self, region: str, credentials: StateCredentials) -> Any:
        return boto_client_for(region=region, service="sagemaker", state_credentials=credentials)

    def _eval_service_task(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> None:
        operation = _service_model().operation_model(_operation_name(self._action()))
        # Every constraint SageMaker checks (lengths, patterns, enums too), before any call.
        violations = check(normalised_parameters, operation.input_shape)
        if violations:
            cause = (
                f"{summary(violations)} (Service: AmazonSageMaker; Status Code: 400; "
                f"Error Code: ValidationException; Request ID: {uuid.uuid4()}; Proxy: null)"
            )
            raise FailureEventException(self._failure(env, _GENERIC_ERROR, cause))
        self._check_permissions(
            env, resource_runtime_part.region, normalised_parameters, state_credentials
        )
        client = self._client(resource_runtime_part.region, state_credentials)
        call = getattr(client, camel_to_snake_case(self.resource.api_action))
        response = call(**normalised_parameters) or {}
        response.pop("ResponseMetadata", None)
        env.stack.append(to_epoch_millis(response))

    def _check_permissions(
        self, env: Environment, region: str, parameters: dict, state_credentials: StateCredentials
    ) -> None:
        """Fails the task when the role lacks a permission AWS documents for this integration.

        A SageMaker action is refused as SageMaker refuses it (``AccessDeniedException``, as
        AWS reports a denied SageMaker call of this integration); the ``.sync`` managed rule
        with Step Functions' own message (see ``sfn_permissions.managed_rule_refusal``).
        """
        role = getattr(state_credentials, "role_arn", None)
        if not role:
            return
        sync = self.resource.condition == ResourceCondition.Sync
        needs = sfn_permissions.required(
            self.resource.api_action, sync, parameters, role.split(":")[4], region
        )
        denied = hook.denial(role, SESSION, region, needs)
        if denied is None:
            return
        need, message = denied
        request_id = uuid.uuid4()
        if need.action.startswith("events:"):
            cause = (
                f"{sfn_permissions.managed_rule_refusal(role)} (Service: AWSStepFunctions; "
                f"Status Code: 400; Error Code: AccessDeniedException; Request ID: {request_id}; "
                "Proxy: null)"
            )
            raise FailureEventException(self._failure(env, "States.Runtime", cause))
        cause = (
            f"{message} (Service: AmazonSageMaker; Status Code: 400; Error Code: "
            f"AccessDeniedException; Request ID: {request_id}; Proxy: null)"
        )
        raise FailureEventException(self._failure(env, _GENERIC_ERROR, cause))

    def _build_sync_resolver(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> Callable[[], Any]:
        env.stack.pop()  # the Create* response; the Describe* response replaces it
        describe, name_key, status_key = _ACTIONS[self._action()]  # type: ignore[misc]
        client = self._client(resource_runtime_part.region, state_credentials)
        name = normalised_parameters[name_key]

        def resolve() -> dict[str, Any] | None:
            description = getattr(client, describe)(**{name_key: name})
            description.pop("ResponseMetadata", None)
            if description[status_key] in _RUNNING:
                return None
            description = to_epoch_millis(description)
            if description[status_key] == "Completed":
                return description
            raise FailureEventException(
                self._failure(env, "States.TaskFailed", to_json_str(description))
            )

        resolve.job_name = name  # type: ignore[attr-defined]
        return resolve

    def _eval_sync(self, env: Environment, sync_resolver: Callable[[], Any], **kwargs: Any) -> Any:
        outcome = super()._eval_sync(env=env, sync_resolver=sync_resolver, **kwargs)
        if not env.is_running():
            self._stop_abandoned_job(env, getattr(sync_resolver, "job_name", None))
        return outcome

    def _stop_abandoned_job(self, env: Environment, name: str | None) -> None:
        """The execution stopped or timed out while the job ran: stop it, as AWS does."""
        _, name_key, _ = _ACTIONS[self._action()]  # type: ignore[misc]
        if name is None:
            return
        try:
            client = self._client(env.aws_execution_details.region, None)
            getattr(client, _STOP_CALLS[self._action()])(**{name_key: name})
        except ClientError:
            pass  # it had already ended
