"""Step Functions' payload limit and catch rules, as AWS applies them to an execution.

A state's input, a task's result or a state's output over 262,144 bytes of UTF-8 JSON fails
the execution with ``States.DataLimitExceeded``; ``States.ALL`` catches neither that error nor
``States.Runtime``. moto's interpreter measured a string without its quotes, counted a
``\\u`` escape for every character outside ASCII, refused exactly 262,144 bytes, never looked
at a state's input (so an execution's input over the limit ran), and let ``States.ALL`` catch
both errors.
"""

from __future__ import annotations

import json
from typing import Any

from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
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
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from localcloud.patching import Patches

# "Maximum input or output size for a task, activity, or execution: 256 KiB of data as a UTF-8
# encoded string" (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html);
# payloads "over 262,144 bytes" fail (https://docs.aws.amazon.com/step-functions/latest/dg/avoid-exec-failures.html).
MAX_PAYLOAD_BYTES = 262_144
PATCHES = Patches()


def within_payload_limit(value: Any) -> bool:
    """Whether ``value``, as compact JSON text, fits Step Functions' payload limit.

    A string is a JSON string too (moto measured it without its quotes and escapes), and a
    character outside ASCII counts its UTF-8 bytes, not the six of a ``\\u`` escape.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8")) <= MAX_PAYLOAD_BYTES


def _eval_state_input(self: Any, env: Environment) -> None:
    # A state's input is checked too: the execution's input reaches the first state this way.
    PATCHES.original(state_module.CommonStateField, "_eval_state_input")(self, env)
    if within_payload_limit(env.stack[-1]):
        return
    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    cause = (
        f"The state '{self.name}' received an input with a size exceeding the maximum number "
        f"of bytes service limit ({MAX_PAYLOAD_BYTES})."
    )
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(error=error.to_name(), cause=cause)
            ),
        )
    )


# "States.ALL ... The States.ALL error type can't catch the States.DataLimitExceeded terminal
# error type and runtime error types" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html);
# moto lets States.ALL (and States.TaskFailed) match them, so a Catch would hide them.
_UNCATCHABLE = {
    StatesErrorNameType.StatesStatesDataLimitExceeded,
    StatesErrorNameType.StatesRuntime,
}


def _error_equals(self: error_equals_decl.ErrorEqualsDecl, env: Environment) -> None:
    error_name = env.stack[-1]
    if isinstance(error_name, StatesErrorName) and error_name.typ in _UNCATCHABLE:
        env.stack.pop()
        env.stack.append(error_name in self.error_names)
        return
    PATCHES.original(error_equals_decl.ErrorEqualsDecl, "_eval_body")(self, env)


def install() -> Patches:
    """Apply the limit and the catch rules to moto's interpreter (idempotent); :func:`uninstall`
    undoes it."""
    if PATCHES.applied:
        return PATCHES
    for module in (quotas, state_module, state_task_lambda, state_task_service):
        PATCHES.set(module, "is_within_size_quota", within_payload_limit)
    PATCHES.set(state_module.CommonStateField, "_eval_state_input", _eval_state_input)
    PATCHES.set(error_equals_decl.ErrorEqualsDecl, "_eval_body", _error_equals)
    return PATCHES


def uninstall() -> None:
    """Gives moto's interpreter back its own limit and catch rules."""
    PATCHES.restore()
