"""CloudFormation change sets that behave like CloudFormation's, for the CDK CLI.

The CDK CLI deploys every stack through a change set. Moto 5.2.5 executes change sets without
computing the stack's Outputs or registering its Exports (only ``CreateStack`` does), and a stack
created by a change set cannot resolve ``Fn::ImportValue``. So a second stack that imports from
the first fails to deploy, and ``cdk deploy`` shows no outputs. Moto also lets an exception
escape mid-execution, leaving the stack "in progress" forever; here it fails the way
CloudFormation does (``ROLLBACK_COMPLETE`` with the reason in the stack events), so the CLI
prints the cause and the next deploy can replace the stack.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack

LOG = logging.getLogger(__name__)

_original_create_change_set = CloudFormationBackend.create_change_set


def _share_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    # The backend's dict is shared, not copied, so later exports are visible to this stack too.
    stack.cross_stack_resources = backend.exports
    stack.resource_map.cross_stack_resources = backend.exports


def _create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
    change_set_id, stack_id = _original_create_change_set(self, *args, **kwargs)
    _share_exports(self, self.stacks[stack_id])
    return change_set_id, stack_id


def _delete_change_set(self: CloudFormationBackend, change_set_name: str) -> None:
    # CloudFormation answers success for a change set that is already gone; the CDK CLI relies
    # on that before every update ("cleanupOldChangeset"). Moto raised UnboundLocalError (a 500).
    for change_set_id, change_set in list(self.change_sets.items()):
        if change_set_name in (change_set_id, change_set.change_set_name):
            del self.change_sets[change_set_id]


def _resource_events(stack: Stack, status: str) -> None:
    """Record one event per created resource, so the CLI's progress counter reaches the end."""
    for logical_id in stack.resource_map.resources:
        resource = stack.resource_map._parsed_resources.get(logical_id)
        if resource is None:
            continue  # a type moto does not model: it was skipped, not created
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=getattr(resource, "physical_resource_id", logical_id),
                resource_type=getattr(resource, "cf_resource_type", ""),
                resource_status=status,
                resource_status_reason=None,
                resource_properties=None,
            )
        )


def _apply(backend: CloudFormationBackend, change_set: ChangeSet, stack: Stack) -> list[Any]:
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
    taken = set(backend.exports) - previous
    clash = sorted({export.name for export in exports} & taken)
    if clash:
        raise ValidationError(message=f"Export names must be unique in a region; taken: {clash}")
    for name in previous:
        backend.exports.pop(name, None)
    for export in exports:
        backend.exports[export.name] = export
    return exports


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = self.describe_change_set(change_set_name)
    if change_set is None:
        raise ValidationError(stack_name)
    stack = self.stacks[change_set.stack_id]
    _share_exports(self, stack)
    verb = "CREATE" if change_set.change_set_type == "CREATE" else "UPDATE"
    stack._add_stack_event(f"{verb}_IN_PROGRESS", resource_status_reason="User Initiated")
    try:
        _apply(self, change_set, stack)
    except Exception as exc:
        LOG.exception("change set %s of stack %s failed", change_set_name, stack.name)
        reason = f"{type(exc).__name__}: {exc}"
        stack._add_stack_event(f"{verb}_FAILED", resource_status_reason=reason)
        # Moto cannot undo the resources it already made: the stack says so in its status.
        final = "ROLLBACK_COMPLETE" if verb == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event(final, resource_status_reason=reason)
        stack.status = final
        change_set.execution_status = "EXECUTE_FAILED"
        change_set.status_reason = reason
        return
    # CloudFormation drops a stack's change sets once one of them has been executed.
    for change_set_id, other in list(self.change_sets.items()):
        if other.stack_id == stack.stack_id:
            del self.change_sets[change_set_id]
    _resource_events(stack, f"{verb}_COMPLETE")
    stack._add_stack_event(f"{verb}_COMPLETE")
    stack.status = f"{verb}_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE"


def install() -> None:
    """Patch moto's CloudFormation backend (idempotent)."""
    CloudFormationBackend.create_change_set = _create_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = _delete_change_set  # type: ignore[method-assign]
