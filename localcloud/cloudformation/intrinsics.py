"""``Fn::GetStackOutput``, the intrinsic behind the CDK's "weak" cross-stack references.

With ``@aws-cdk/core:defaultCrossStackReferences`` set to ``weak`` or ``both``, a consuming
stack reads the producer's output directly
(``{"Fn::GetStackOutput": {"StackName", "OutputName", "Region", "RoleArn"}}``) instead of
importing an export. Moto 5.2.5 does not know the function and would pass the dict through as the
property's value. The local cloud has one account, so ``RoleArn`` (cross-account) is ignored.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import cloudformation_backends

from localcloud.patching import Patches

FUNCTION = "Fn::GetStackOutput"
PATCHES = Patches()


def stack_output(account_id: str, region: str, stack_name: str, output_name: str) -> str:
    """The value of output ``output_name`` of the live stack ``stack_name``."""
    backend = cloudformation_backends[account_id][region]
    for stack in backend.stacks.values():
        if stack.name == stack_name and not stack.status.startswith("DELETE"):
            for output in stack.outputs or []:
                if output["OutputKey"] == output_name:
                    return str(output["OutputValue"])
            raise ValidationError(message=f"Stack {stack_name} has no output {output_name}")
    raise ValidationError(message=f"{FUNCTION}: stack {stack_name} does not exist in {region}")


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and FUNCTION in resource_json:
        spec = PATCHES.original(parsing, "clean_json")(resource_json[FUNCTION], resources_map)
        return stack_output(
            resources_map._account_id,
            spec.get("Region") or resources_map._region_name,
            spec["StackName"],
            spec["OutputName"],
        )
    return PATCHES.original(parsing, "clean_json")(resource_json, resources_map)


def install() -> Patches:
    """Teach moto's template parser ``Fn::GetStackOutput`` (idempotent); :func:`uninstall`
    undoes it."""
    if not PATCHES.applied:
        # clean_json recurses through the module global, so nested uses resolve too.
        PATCHES.set(parsing, "clean_json", _clean_json)
    return PATCHES


def uninstall() -> None:
    """Gives moto's template parser back its own intrinsics."""
    PATCHES.restore()
