"""A template role's ``ManagedPolicyArns``, which moto's CloudFormation drops, as IAM has them.

moto's ``AWS::IAM::Role`` creates the role and its inline ``Policies`` but ignores
``ManagedPolicyArns`` ("A list of Amazon Resource Names (ARNs) of the IAM managed policies
that you want to attach to the role",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html),
and loads no AWS managed policy unless configured to (``iam.load_aws_managed_policies``, which
copies all 1,500 of them into every account's backend). The CDK bootstrap roles depend on
them: the deploy role reads stacks through ``AWSCloudFormationReadOnlyAccess``, the lookup role
through ``ReadOnlyAccess``. Here the ARNs are kept on the role (``MANAGED_ARNS``) and
:func:`documents` reads each policy: a customer managed one from the account, an AWS managed
one from moto's copy of AWS's documents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import Role, iam_backends

from localcloud.patching import Patches

MANAGED_ARNS = "localcloud_managed_policy_arns"
_AWS_MANAGED = "arn:aws:iam::aws:policy/"
PATCHES = Patches()


def _arns(cloudformation_json: Mapping[str, Any]) -> list[str]:
    return [
        str(arn) for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns") or []
    ]


def _create(
    cls: type[Role], resource_name: str, cloudformation_json: dict, *args: Any, **kwargs: Any
) -> Role:
    moto_create = PATCHES.original(Role, "create_from_cloudformation_json").__func__
    role = moto_create(cls, resource_name, cloudformation_json, *args, **kwargs)
    setattr(role, MANAGED_ARNS, _arns(cloudformation_json))
    return role


def _update(
    cls: type[Role], original: Role, name: str, cloudformation_json: dict, *args: Any, **kwargs: Any
) -> Role:
    moto_update = PATCHES.original(Role, "update_from_cloudformation_json").__func__
    role = moto_update(cls, original, name, cloudformation_json, *args, **kwargs)
    setattr(role, MANAGED_ARNS, _arns(cloudformation_json))
    return role


@cache
def _aws_managed() -> dict[str, Any]:
    return json.loads(aws_managed_policies_data)


def documents(role: Role, account: str) -> list[Any]:
    """The documents of the managed policies the role's template attached."""
    found = []
    for arn in getattr(role, MANAGED_ARNS, []):
        if arn.startswith(_AWS_MANAGED):
            data = _aws_managed().get(arn.removeprefix(_AWS_MANAGED).rsplit("/", 1)[-1])
            if data is not None:
                found.append(data["Document"])
            continue
        policy = iam_backends[account]["aws"].managed_policies.get(arn)
        default = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
        if default is not None:
            found.append(default.document)
    return found


def install() -> Patches:
    """Keeps ``ManagedPolicyArns`` of template roles (idempotent); :func:`uninstall` undoes
    it."""
    if not PATCHES.applied:
        PATCHES.set(Role, "create_from_cloudformation_json", classmethod(_create))
        PATCHES.set(Role, "update_from_cloudformation_json", classmethod(_update))
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own template roles."""
    PATCHES.restore()
