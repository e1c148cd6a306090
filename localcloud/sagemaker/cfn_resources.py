"""CloudFormation resources moto's SageMaker lacks: ``AWS::SageMaker::ModelPackageGroup``.

A stack that declares the Model Registry group (``CfnModelPackageGroup`` in the CDK) gets it
created in moto's SageMaker, so the pipeline's CreateModelPackage finds it. moto finds resource
types through the subclasses of ``CloudFormationModel``: defining the class registers it.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends

_ATTRIBUTES = {"ModelPackageGroupArn", "CreationTime", "ModelPackageGroupStatus"}


class ModelPackageGroupResource(CloudFormationModel):
    """The stack's handle on a model package group in moto's SageMaker backend."""

    def __init__(self, group: Any):
        self.group = group

    @property
    def physical_resource_id(self) -> str:
        return self.group.arn  # Ref gives the ARN, as on AWS

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelPackageGroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::ModelPackageGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in _ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "ModelPackageGroupArn":
            return self.group.arn
        if attribute_name == "CreationTime":
            return self.group.creation_time.isoformat()
        if attribute_name == "ModelPackageGroupStatus":
            return self.group.model_package_group_status
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ModelPackageGroupResource:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("ModelPackageGroupName") or resource_name
        backend = sagemaker_backends[account_id][region_name]
        if name in backend.model_package_groups:
            raise ValidationError(f"Model Package Group {name} already exists.")
        backend.create_model_package_group(
            model_package_group_name=name,
            model_package_group_description=properties.get("ModelPackageGroupDescription"),
            tags=properties.get("Tags") or [],
        )
        return cls(backend.model_package_groups[name])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> ModelPackageGroupResource:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("ModelPackageGroupName") or new_resource_name
        if name == original_resource.group.model_package_group_name:
            original_resource.group.model_package_group_description = properties.get(
                "ModelPackageGroupDescription"
            )
            return original_resource
        cls.delete_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> None:
        # resource_name is the physical id: the group's ARN.
        name = resource_name.split("/")[-1]
        sagemaker_backends[account_id][region_name].model_package_groups.pop(name, None)


def register() -> None:
    """Makes moto's CloudFormation see the resource types above (its type map is cached)."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
