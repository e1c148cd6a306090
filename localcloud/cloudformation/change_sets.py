"""CloudFormation change sets that behave like CloudFormation's, for the CDK CLI.

The CDK CLI deploys every stack through a change set named ``cdk-deploy-change-set``. Moto 5.2.5
falls short of what the CLI relies on, and each patch here closes one gap:

- executing a change set computed no Outputs and registered no Exports (only ``CreateStack``
  did), and a stack created by a change set could not resolve ``Fn::ImportValue``: a second
  stack importing from the first failed, and ``cdk deploy`` printed no outputs;
- an exception mid-execution escaped as an HTTP 500, leaving the stack "in progress"; now the
  stack fails as on AWS (``ROLLBACK_COMPLETE`` with the reason in its events), the CLI prints the
  cause and the next deploy replaces the stack (moto cannot undo what it already created);
- change sets were looked up by name across all stacks, though every CDK stack uses the same
  name; and deleting a change set that is gone raised instead of succeeding, which broke every
  second deploy of a stack.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from localcloud.cloudformation import intrinsics, resource_types
from localcloud.patching import Patches

LOG = logging.getLogger(__name__)

PATCHES = Patches()


class ChangeSetNotFoundError(CloudFormationError):
    """What CloudFormation answers for a change set that does not exist (HTTP 404); the CLI
    waits for a deleted change set until it gets this."""

    code = "ChangeSetNotFoundException"


def _matching(
    backend: CloudFormationBackend, name_or_id: str, stack_name: str | None
) -> list[ChangeSet]:
    """Change sets with this id, or this name in this stack (name or id) when one is given."""
    if name_or_id in backend.change_sets:
        return [backend.change_sets[name_or_id]]
    return [
        change_set
        for change_set in backend.change_sets.values()
        if change_set.change_set_name == name_or_id
        and stack_name in (None, change_set.stack_name, change_set.stack_id)
    ]


def _describe_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> ChangeSet:
    found = _matching(self, change_set_name, stack_name)
    if not found:
        raise ChangeSetNotFoundError(f"ChangeSet [{change_set_name}] does not exist")
    return found[-1]


def _delete_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    # CloudFormation answers success for a change set that is already gone; the CLI deletes
    # its change set "if it exists" before every update.
    for change_set in _matching(self, change_set_name, stack_name):
        self.change_sets.pop(change_set.change_set_id, None)


def _share_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    # The backend's dict is shared, not copied, so later exports are visible to this stack too.
    stack.cross_stack_resources = backend.exports
    stack.resource_map.cross_stack_resources = backend.exports


def _create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
    moto_create = PATCHES.original(CloudFormationBackend, "create_change_set")
    change_set_id, stack_id = moto_create(self, *args, **kwargs)
    _share_exports(self, self.stacks[stack_id])
    return change_set_id, stack_id


def _resource_events(stack: Stack, change_set: ChangeSet, status: str) -> None:
    """One event per added or modified resource, so the CLI's progress counter ends complete."""
    for change in change_set.changes:
        resource = stack.resource_map._parsed_resources.get(change.logical_resource_id)
        if change.action == "Remove" or resource is None:
            continue  # None: left out by its Condition, or a WaitCondition
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=change.logical_resource_id,
                physical_resource_id=getattr(resource, "physical_resource_id", ""),
                resource_type=change.resource_type,
                resource_status=status,
                resource_status_reason=None,
                resource_properties=None,
            )
        )


def _apply(backend: CloudFormationBackend, change_set: ChangeSet, stack: Stack) -> None:
    """Apply the change set, then compute the stack's outputs and exports from its new template."""
    previous = {export.name for export in stack.exports}
    change_set.apply()
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    # Resolve every output now, so one that cannot resolve fails the deploy, not a later read.
    list(stack.output_map.values())
    exports = stack.exports
    clash = sorted({e.name for e in exports} & (set(backend.exports) - previous))
    if clash:
        raise ValidationError(message=f"Export names must be unique in a region; taken: {clash}")
    for name in previous:
        backend.exports.pop(name, None)
    for export in exports:
        backend.exports[export.name] = export


def _fail(stack: Stack, change_set: ChangeSet, verb: str, exc: Exception) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    stack._add_stack_event(f"{verb}_FAILED", resource_status_reason=reason)
    final = "ROLLBACK_COMPLETE" if verb == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(final, resource_status_reason=reason)
    stack.status = final
    change_set.execution_status = "EXECUTE_FAILED"
    change_set.status_reason = reason


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = _describe_change_set(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    _share_exports(self, stack)
    verb = "CREATE" if change_set.change_set_type == "CREATE" else "UPDATE"
    stack._add_stack_event(f"{verb}_IN_PROGRESS", resource_status_reason="User Initiated")
    previous = (stack.template, stack.template_dict, stack.output_map)
    try:
        _apply(self, change_set, stack)
    except Exception as exc:
        LOG.exception("change set %s of stack %s failed", change_set_name, stack.name)
        # Keep the outputs readable: the new ones may be what could not resolve.
        stack.template, stack.template_dict, stack.output_map = previous
        _fail(stack, change_set, verb, exc)
        return
    # CloudFormation drops a stack's change sets once one of them has been executed.
    for other in _matching(self, change_set.change_set_name, stack.stack_id):
        self.change_sets.pop(other.change_set_id, None)
    _resource_events(stack, change_set, f"{verb}_COMPLETE")
    stack._add_stack_event(f"{verb}_COMPLETE")
    stack.status = f"{verb}_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE"


def _previous_parameter_values(self: Stack) -> dict[str, Any]:
    # What ``UsePreviousValue`` re-submits. For an SSM-typed parameter (the CDK's
    # BootstrapVersion) that is the parameter's name, resolved again on update; moto re-submitted
    # the resolved value and then looked it up as a name, failing every update of a CDK stack.
    values = dict(self.resource_map.resolved_parameters)
    for key, spec in (self.template_dict.get("Parameters") or {}).items():
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::"):
            values[key] = self.resource_map.input_parameters.get(key, spec.get("Default"))
    return values


def _response_describe_change_set(self: CloudFormationResponse) -> ActionResult:
    change_set = self.cloudformation_backend.describe_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return ActionResult(change_set)


def _response_delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.delete_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return EmptyResult()


def install() -> Patches:
    """Patch moto's CloudFormation backend, responses and template parser (idempotent);
    :func:`uninstall` undoes it."""
    intrinsics.install()
    resource_types.install()
    if PATCHES.applied:
        return PATCHES
    backend, response = CloudFormationBackend, CloudFormationResponse
    PATCHES.set(backend, "create_change_set", _create_change_set)
    PATCHES.set(backend, "describe_change_set", _describe_change_set)
    PATCHES.set(backend, "delete_change_set", _delete_change_set)
    PATCHES.set(backend, "execute_change_set", _execute_change_set)
    PATCHES.set(Stack, "stack_parameters", property(_previous_parameter_values))
    PATCHES.set(response, "describe_change_set", _response_describe_change_set)
    PATCHES.set(response, "delete_change_set", _response_delete_change_set)
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own change sets, resource types and intrinsics."""
    PATCHES.restore()
    resource_types.uninstall()
    intrinsics.uninstall()
