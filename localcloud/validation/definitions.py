"""The static Parameters of a state machine's service tasks, checked against the API they call.

Step Functions checks an optimised integration's Parameters when the state machine is created
or updated (``SCHEMA_VALIDATION_FAILED``, reported as ``InvalidDefinition``; the diagnostic
location is ``/States/<state>/<field>``, per
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html).
Here every task of ``arn:aws:states:::sagemaker:*``, ``sns:publish``, ``events:putEvents``,
``lambda:invoke`` and ``aws-sdk:<service>:<action>`` is checked against the botocore input
shape of its API: unknown members (``The field "X" is not supported by Step Functions``, AWS's
words), required members, types, enums, lengths, counts, ranges and patterns. A member whose
value comes from a path or an intrinsic (``Key.$``) is present but not checked; it is checked
when the task runs. Other integrations (DynamoDB, SQS, ECS, ...) are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.model import OperationModel

from localcloud.validation.constraints import Rules, Violation, check
from localcloud.validation.wire import service_model

# Optimised integrations whose request differs from the API's: Step Functions serialises a JSON
# value of these fields for the API (Lambda's Payload, SNS's Message, EventBridge's Detail).
_OPTIMISED: dict[str, tuple[str, frozenset[str]]] = {
    "sagemaker": ("sagemaker", frozenset()),
    "sns": ("sns", frozenset({"Message"})),
    "events": ("events", frozenset({"Entries.*.Detail"})),
    "lambda": ("lambda", frozenset({"Payload"})),
}
_OPTIMISED_ACTIONS = {"sns": {"publish"}, "events": {"putevents"}, "lambda": {"invoke"}}
# aws-sdk service names that are not boto3's (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
_SDK_NAMES = {
    "sfn": "stepfunctions",
    "states": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "sagemakerruntime": "sagemaker-runtime",
}
_SUFFIXES = (".sync:2", ".sync", ".waitForTaskToken")


@dataclass(frozen=True)
class Finding:
    """One problem in one task's Parameters."""

    location: str  # /States/<state>/Parameters
    message: str

    def describe(self) -> str:
        return f"SCHEMA_VALIDATION_FAILED: {self.message} at {self.location}"


def target(resource: str) -> tuple[OperationModel, Rules] | None:
    """The API a task's ``Resource`` calls and how its Parameters are checked, if known here."""
    _, _, tail = resource.partition(":states:::")
    if not tail:
        return None
    for suffix in _SUFFIXES:
        tail = tail.removesuffix(suffix)
    parts = tail.split(":")
    if parts[0] == "aws-sdk" and len(parts) == 3:
        service, action, any_json = _SDK_NAMES.get(parts[1], parts[1]), parts[2], frozenset()
    elif len(parts) == 2 and parts[0] in _OPTIMISED:
        if parts[0] in _OPTIMISED_ACTIONS and parts[1].lower() not in _OPTIMISED_ACTIONS[parts[0]]:
            return None
        (service, any_json), action = _OPTIMISED[parts[0]], parts[1]
    else:
        return None
    try:
        model = service_model(service)
    except (DataNotFoundError, UnknownServiceError):
        return None
    operation = next((op for op in model.operation_names if op.lower() == action.lower()), None)
    if operation is None:
        return None
    return model.operation_model(operation), Rules(
        unknown_members=True, paths_allowed=True, any_json=any_json
    )


@dataclass(frozen=True)
class ServiceTask:
    """A task state whose API is known here, with its static Parameters."""

    location: str  # /States/<state>/Parameters
    parameters: dict[str, Any]
    operation: OperationModel
    rules: Rules


def service_tasks(definition: dict[str, Any]) -> Iterator[ServiceTask]:
    """Every task of the definition, nested ones included, whose Parameters are checked here."""
    for location, state in _states(definition, ""):
        if state.get("Type") != "Task" or not isinstance(state.get("Resource"), str):
            continue
        field = "Arguments" if "Arguments" in state else "Parameters"
        parameters = state.get(field, {})
        known = target(state["Resource"])
        if known is not None and isinstance(parameters, dict):
            yield ServiceTask(f"{location}/{field}", parameters, *known)


def findings(definition: dict[str, Any]) -> list[Finding]:
    """Every problem in the static Parameters of the definition's service tasks."""
    return [
        Finding(task.location, _message(violation))
        for task in service_tasks(definition)
        for violation in check(_static(task.parameters), task.operation.input_shape, task.rules)
    ]


def _static(parameters: Any) -> Any:
    """JSONata expressions (``{% ... %}``) are evaluated at run time, like ``.$`` paths."""
    if isinstance(parameters, dict):
        return {
            (f"{key}.$" if _is_jsonata(item) else key): _static(item)
            for key, item in parameters.items()
        }
    if isinstance(parameters, list):
        return [_static(item) for item in parameters]
    return parameters


def _is_jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _message(violation: Violation) -> str:
    if violation.kind == "unknown":
        return f'The field "{violation.api_path}" is not supported by Step Functions'
    if violation.kind == "missing":
        return f"The field '{violation.api_path}' is required but was missing"
    return violation.describe(api_names=True)


def _states(definition: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state with its location, inside Parallel branches and Map iterators too."""
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        location = f"{prefix}/States/{name}"
        yield location, state
        for index, branch in enumerate(state.get("Branches") or []):
            yield from _states(branch, f"{location}/Branches[{index}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key], f"{location}/{key}")
