"""Step Functions state machines that execute, however they were created.

Moto keeps two Step Functions backends: a plain one that records executions without running
them, and one (the ASL interpreter) that runs them, chosen per API call by the config
``{"stepfunctions": {"execute_state_machine": true}}``. CloudFormation always writes to the plain
one, so a state machine deployed by the CDK was invisible to the executing API. Here both names
point at the executing backend, and the CloudFormation resource understands what CDK emits
(``DefinitionSubstitutions``, ``Definition`` as an object, type, logging and tracing).

Each task calls its service with the state machine role's keys
(``localcloud.stepfunctions.task_credentials``). A definition whose service tasks' static
Parameters break the API's model is refused
(``InvalidDefinition``, ``localcloud.validation.definitions``), and AWS's payload limit and
catch rules apply (``localcloud.stepfunctions.limits``).
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from moto.core.config import default_user_config
from moto.core.responses import ActionResult
from moto.stepfunctions import models, responses
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventType,
    InvalidDefinition,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.models import (
    StepFunctionsParserBackend,
    stepfunctions_parser_backends,
)
from moto.stepfunctions.responses import StepFunctionResponse
from moto.stepfunctions.utils import cfn_to_api_tags

from localcloud.patching import Patches
from localcloud.stepfunctions import limits, task_credentials
from localcloud.validation import definitions

EXECUTE_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
PATCHES = Patches()
_FINISHED = (
    ExecutionStatus.SUCCEEDED,
    ExecutionStatus.FAILED,
    ExecutionStatus.ABORTED,
    ExecutionStatus.TIMED_OUT,
)


def _lower_keys(value: Any) -> Any:
    """CloudFormation's ``LevelName`` spelling to the API's ``levelName``, recursively."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def definition_from_properties(properties: dict[str, Any]) -> str:
    """The ASL text of an ``AWS::StepFunctions::StateMachine``, substitutions applied."""
    definition = properties.get("DefinitionString")
    if definition is None:
        definition = json.dumps(properties.get("Definition", {}))
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def _create_from_cloudformation_json(
    cls: type[StateMachine],
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> StateMachine:
    properties = cloudformation_json["Properties"]
    backend = stepfunctions_parser_backends[account_id][region_name]
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=definition_from_properties(properties),
        roleArn=properties.get("RoleArn", ""),
        tags=cfn_to_api_tags(properties.get("Tags", [])),
        loggingConfiguration=_lower_keys(properties.get("LoggingConfiguration")),
        tracingConfiguration=_lower_keys(properties.get("TracingConfiguration")),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _update_from_cloudformation_json(
    cls: type[StateMachine],
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> StateMachine:
    properties = cloudformation_json.setdefault("Properties", {})
    properties["DefinitionString"] = definition_from_properties(properties)
    moto_update = PATCHES.original(StateMachine, "update_from_cloudformation_json").__func__
    return moto_update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    # The executing backend names an unnamed execution "None", so a second one clashes with it;
    # Step Functions generates a UUID, as moto's plain backend does. It also takes any name,
    # where Step Functions refuses spaces, brackets and the like (InvalidName), as moto's plain
    # backend does.
    if name is not None:
        self._validate_name(name)
    return PATCHES.original(StepFunctionsParserBackend, "start_execution")(
        self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
    )


def _describe_execution(self: StepFunctionResponse) -> ActionResult:
    # moto's own version json.dumps the output, which fails when a state returned a datetime
    # (any aws-sdk task whose API answers with a timestamp), and passes a string output on
    # unquoted: encode as the interpreter does.
    arn = self._get_param("executionArn")
    execution = self.stepfunction_backend.describe_execution(arn)
    response: dict[str, Any] = {
        "executionArn": arn,
        "input": execution.execution_input,
        "name": execution.name,
        "startDate": execution.start_date,
        "stateMachineArn": execution.state_machine_arn,
        "status": execution.status,
    }
    if execution.status in _FINISHED:
        response["stopDate"] = execution.stop_date
    if execution.status == ExecutionStatus.SUCCEEDED:
        # The output is the final state's value: a string output is JSON text too ("\"x\"").
        response["output"] = to_json_str(execution.output)
        response["outputDetails"] = execution.output_details
    if execution.error is not None:
        response["error"] = execution.error
    if execution.cause is not None:
        response["cause"] = execution.cause
    return ActionResult(response)


class _ReraisedErrorName(ErrorName):
    """An error name a Fail state passes on from its input (``ErrorPath``).

    moto accepts only custom names there, but AWS lets a Fail state re-raise the error a Catch
    caught, ``States.TaskFailed`` included, which is how a workflow ends "with the cause".
    """


def _fail_state(self: StateFail, env: Environment) -> None:
    details = TaskFailedEventDetails()
    error_value = None
    if self.error:
        self.error.eval(env=env)
        error_value = env.stack.pop()
        details["error"] = error_value
    if self.cause:
        self.cause.eval(env=env)
        details["cause"] = env.stack.pop()
    error_name = None
    if error_value:
        error_name = (
            _ReraisedErrorName(error_value)
            if error_value.startswith("States.")
            else CustomErrorName(error_value)
        )
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),
        )
    )


def _json_safe(value: Any) -> Any:
    """SDK responses as Step Functions passes them on: timestamps become ISO-8601 strings and
    streamed bodies (``s3:getObject``'s ``Body``) become text."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if hasattr(value, "read"):
        return value.read().decode("utf-8")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _aws_sdk_task(self, env: Environment, *args: Any, **kwargs: Any) -> None:
    PATCHES.original(StateTaskServiceAwsSdk, "_eval_service_task")(self, env, *args, **kwargs)
    env.stack.append(_json_safe(env.stack.pop()))


_INVALID_DEFINITION = "InvalidDefinition"


def _validate_definition(definition: str) -> None:
    # moto's InvalidDefinition carries no error code (clients saw ''): each is raised with it.
    try:
        PATCHES.original(StepFunctionsParserBackend, "_validate_definition")(definition)
    except InvalidDefinition as invalid:
        raise InvalidDefinition(invalid.message, _INVALID_DEFINITION) from invalid
    problems = definitions.findings(json.loads(definition))
    if problems:
        listed = ", ".join(problem.describe() for problem in problems)
        message = f"Invalid State Machine Definition: '{listed}'"
        raise InvalidDefinition(message, _INVALID_DEFINITION)


def install() -> Patches:
    """Route every state machine to the executing backend and turn execution on (idempotent);
    :func:`uninstall` undoes it.

    The package attribute ``moto.stepfunctions.stepfunctions_backends`` stays: moto's server
    derives the service's URL routes from the module of that backend's class.
    """
    limits.install()
    task_credentials.install()
    if PATCHES.applied:
        return PATCHES
    PATCHES.set(models, "stepfunctions_backends", stepfunctions_parser_backends)
    PATCHES.set(responses, "stepfunctions_backends", stepfunctions_parser_backends)
    machine, backend = StateMachine, StepFunctionsParserBackend
    PATCHES.set(
        machine, "create_from_cloudformation_json", classmethod(_create_from_cloudformation_json)
    )
    PATCHES.set(
        machine, "update_from_cloudformation_json", classmethod(_update_from_cloudformation_json)
    )
    PATCHES.set(backend, "start_execution", _start_execution)
    PATCHES.set(StepFunctionResponse, "describe_execution", _describe_execution)
    PATCHES.set(StateFail, "_eval_state", _fail_state)
    PATCHES.set(StateTaskServiceAwsSdk, "_eval_service_task", _aws_sdk_task)
    PATCHES.set(backend, "_validate_definition", staticmethod(_validate_definition))
    PATCHES.set_item(default_user_config, "stepfunctions", EXECUTE_CONFIG["stepfunctions"])
    return PATCHES


def uninstall() -> None:
    """Gives moto back its recording-only state machines."""
    PATCHES.restore()
    task_credentials.uninstall()
    limits.uninstall()
