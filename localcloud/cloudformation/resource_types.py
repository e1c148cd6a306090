"""Resource types in CloudFormation templates that moto's models get wrong or lack.

- A type moto does not model (``AWS::CloudWatch::Alarm``, ``AWS::ApplicationAutoScaling::*``
  ...) would fail any stack that references it ("references undefined resource"): such a type
  is *recorded, not emulated*: it gets a name and an ARN that references resolve to, a warning
  in ``server.log``, and no behaviour.
- ``AWS::KMS::Key``'s tags and policy, ``AWS::Logs::LogGroup``'s ``KmsKeyId``, a key's policy
  on update, ``AWS::Lambda::Function``'s ``KmsKeyArn`` (``localcloud.kms.resources``).
- ``AWS::S3::BucketPolicy``, which moto does not model, is applied
  (``localcloud.s3.bucket_policy``).
- A VPC's security group egress rules and CDK's default-security-group resource
  (``localcloud.ec2.resources``).
- ``AWS::Budgets::Budget``, which moto does not model, is created in its Budgets backend
  (``localcloud.budgets.resources``).
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

from localcloud.budgets import resources as budget_resources
from localcloud.cloudformation.local_resource import LocalResource
from localcloud.ec2 import resources as ec2_resources
from localcloud.kms import resources as kms_resources
from localcloud.patching import Patches
from localcloud.s3 import bucket_policy

LOG = logging.getLogger(__name__)
PATCHES = Patches()


class Unemulated(LocalResource):
    """A resource of a type moto does not model: named, given an ARN, otherwise inert."""

    RESOURCE_TYPE = "AWS::LocalCloud::Unemulated"

    def __init__(self, resource_type: str, name: str, account_id: str, region: str) -> None:
        self.resource_type = resource_type
        self.name = name
        service, kind = [*resource_type.split("::")[1:], "", ""][:2]
        self.arn = f"arn:aws:{service.lower()}:{region}:{account_id}:{kind.lower()}/{name}"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn if attribute_name.endswith("Arn") else self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Unemulated:
        resource_type = kwargs.get("ResourceType") or cloudformation_json["Type"]
        LOG.warning("%s %s is recorded, not emulated", resource_type, kwargs.get("LogicalId"))
        return cls(resource_type, resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        return None


def _resource_class_from_type(resource_type: str) -> type[CloudFormationModel]:
    if resource_type == bucket_policy.BucketPolicy.RESOURCE_TYPE:
        return bucket_policy.BucketPolicy
    if resource_type == budget_resources.Budget.RESOURCE_TYPE:
        return budget_resources.Budget
    if resource_type in ec2_resources.MODELS:
        return ec2_resources.MODELS[resource_type]
    moto_class_from_type = PATCHES.original(parsing, "resource_class_from_type")
    if resource_type in parsing.NULL_MODELS or resource_type.startswith("Custom::"):
        return moto_class_from_type(resource_type)
    if resource_type not in parsing.get_model_map():
        return Unemulated
    return moto_class_from_type(resource_type)


def install() -> Patches:
    """Patch the resource models (idempotent); :func:`uninstall` undoes it."""
    if not PATCHES.applied:
        PATCHES.set(parsing, "resource_class_from_type", _resource_class_from_type)
    kms_resources.install()
    ec2_resources.install()
    return PATCHES


def uninstall() -> None:
    """Gives moto's template parser back its own resource types."""
    ec2_resources.uninstall()
    kms_resources.uninstall()
    PATCHES.restore()
