"""The base of the resource models the local cloud adds to moto's CloudFormation."""

from __future__ import annotations

from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel


class LocalResource(CloudFormationModel):
    """A resource type moto does not model, handled by the local cloud.

    A subclass sets ``RESOURCE_TYPE``, ``physical_resource_id``, ``create_from_cloudformation_json``
    and ``delete``. CloudFormation's name property is not used, the resource exists once created,
    and an update replaces it (the old one deleted, then the new one created).
    """

    # moto lists every subclass of CloudFormationModel by its type, this base included.
    RESOURCE_TYPE: ClassVar[str] = "AWS::LocalCloud::Resource"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.RESOURCE_TYPE

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError

    def is_created(self) -> bool:
        return True
