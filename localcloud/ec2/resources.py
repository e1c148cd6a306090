"""The VPC resources of a template, as EC2 has them after CloudFormation made them.

Moto creates VPCs, subnets, route tables, security groups, VPC endpoints and flow logs from a
template, but three things a CDK VPC relies on came out wrong:

- ``AWS::EC2::SecurityGroup`` ignored ``SecurityGroupEgress``: every group kept the default
  allow-all egress rule. CloudFormation removes that rule once a template lists egress rules
  ("When you specify a VPC security group, Amazon EC2 creates a default egress rule that allows
  egress traffic on all ports and IP protocols to any location. The default rule is removed only
  when you specify one or more egress rules",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html),
  and CDK lists one that matches nothing where outbound traffic is not allowed.
- ``AWS::EC2::SecurityGroupEgress`` was not modelled (recorded, not emulated): its rule is now
  added to its group.
- ``Custom::VpcRestrictDefaultSG`` is backed by CDK's Node.js function, which does not run here.
  What it does is done instead: on create, revoke the default group's allow-all egress and its
  ingress from itself; on delete, authorize them again (``restrict-default-security-group-handler``
  in aws-cdk-lib's ``custom-resource-handlers/dist/aws-ec2``).

And a function in a VPC (``AWS::Lambda::Function`` with ``VpcConfig``) reported moto's fixed
``VpcId`` ``vpc-123abc``; it now reports the VPC of its subnets, as Lambda does.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import InvalidPermissionNotFoundError, InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroup

from localcloud.cloudformation.local_resource import LocalResource
from localcloud.patching import Patches

LOG = logging.getLogger(__name__)
EGRESS_TYPE = "AWS::EC2::SecurityGroupEgress"
RESTRICT_DEFAULT_SG_TYPE = "Custom::VpcRestrictDefaultSG"
_ALL_TRAFFIC = {"ip_protocol": "-1", "from_port": None, "to_port": None}


def _egress_arguments(group_id: str, rule: dict[str, Any]) -> dict[str, Any]:
    """The backend's arguments for one egress rule as a template writes it: an item of
    ``AWS::EC2::SecurityGroup``'s ``SecurityGroupEgress``, or ``AWS::EC2::SecurityGroupEgress``."""
    ranges = [
        {key: rule[key], "Description": rule.get("Description", "")}
        for key in ("CidrIp", "CidrIpv6")
        if rule.get(key)
    ]
    destination = rule.get("DestinationSecurityGroupId")
    prefix_list = rule.get("DestinationPrefixListId")
    return {
        "group_name_or_id": group_id,
        "ip_protocol": str(rule["IpProtocol"]),
        "from_port": rule.get("FromPort"),
        "to_port": rule.get("ToPort"),
        "ip_ranges": ranges,
        "source_groups": [{"GroupId": destination}] if destination else [],
        "prefix_list_ids": [{"PrefixListId": prefix_list}] if prefix_list else [],
    }


PATCHES = Patches()


def _group_create(
    cls: type[SecurityGroup],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> SecurityGroup:
    moto_create = PATCHES.original(SecurityGroup, "create_from_cloudformation_json").__func__
    group = moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    egress = cloudformation_json.get("Properties", {}).get("SecurityGroupEgress") or []
    if egress:
        group.egress_rules.clear()
        backend = ec2_backends[account_id][region_name]
        for rule in egress:
            backend.authorize_security_group_egress(**_egress_arguments(group.id, rule))
    return group


class SecurityGroupEgress(LocalResource):
    """One egress rule added to an existing group; deleting the resource revokes it."""

    RESOURCE_TYPE = EGRESS_TYPE

    def __init__(self, name: str, arguments: dict[str, Any]) -> None:
        self.name = name
        self.arguments = arguments

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecurityGroupEgress:
        rule = dict(cloudformation_json["Properties"])
        arguments = _egress_arguments(rule.pop("GroupId"), rule)
        ec2_backends[account_id][region_name].authorize_security_group_egress(**arguments)
        return cls(resource_name, arguments)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        if backend.get_security_group_from_id(self.arguments["group_name_or_id"]) is not None:
            with contextlib.suppress(InvalidPermissionNotFoundError):
                backend.revoke_security_group_egress(**self.arguments)


class RestrictDefaultSecurityGroup(LocalResource):
    """What CDK's ``Custom::VpcRestrictDefaultSG`` function does to the VPC's default group."""

    RESOURCE_TYPE = RESTRICT_DEFAULT_SG_TYPE

    def __init__(self, group_id: str, account: str) -> None:
        self.group_id = group_id
        self.account = account

    @property
    def physical_resource_id(self) -> str:
        return f"restrict-default-sg-{self.group_id}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RestrictDefaultSecurityGroup:
        properties = cloudformation_json["Properties"]
        restricted = cls(properties["DefaultSecurityGroupId"], str(properties["Account"]))
        backend = ec2_backends[account_id][region_name]
        for revoke, extra in (
            (backend.revoke_security_group_egress, {"ip_ranges": [{"CidrIp": "0.0.0.0/0"}]}),
            (backend.revoke_security_group_ingress, restricted._from_itself()),
        ):
            # The function ignores InvalidPermission.NotFound too.
            with contextlib.suppress(InvalidPermissionNotFoundError):
                revoke(group_name_or_id=restricted.group_id, **_ALL_TRAFFIC, **extra)
        LOG.info("%s: default security group %s allows nothing", resource_name, restricted.group_id)
        return restricted

    def delete(self, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        if backend.get_security_group_from_id(self.group_id) is None:
            return  # the VPC went first
        backend.authorize_security_group_ingress(
            group_name_or_id=self.group_id, **_ALL_TRAFFIC, **self._from_itself()
        )
        backend.authorize_security_group_egress(
            group_name_or_id=self.group_id, **_ALL_TRAFFIC, ip_ranges=[{"CidrIp": "0.0.0.0/0"}]
        )

    def _from_itself(self) -> dict[str, Any]:
        return {
            "ip_ranges": [],
            "source_groups": [{"GroupId": self.group_id, "UserId": self.account}],
        }


def _function_vpc_config(self: LambdaFunction) -> dict[str, Any] | None:
    config = self._vpc_config
    if not config:
        return None
    found = dict(config)
    subnets = config.get("SubnetIds") or []
    if subnets:
        backend = ec2_backends[self.account_id][self.region]
        with contextlib.suppress(InvalidSubnetIdError):
            found["VpcId"] = backend.get_subnet(subnets[0]).vpc_id
    return found


MODELS: dict[str, type[CloudFormationModel]] = {
    EGRESS_TYPE: SecurityGroupEgress,
    RESTRICT_DEFAULT_SG_TYPE: RestrictDefaultSecurityGroup,
}


def install() -> Patches:
    """Patch the security group and function models (idempotent; :func:`uninstall` undoes it);
    ``MODELS`` holds the types ``localcloud.cloudformation.resource_types`` maps to this
    module's classes."""
    if not PATCHES.applied:
        PATCHES.set(SecurityGroup, "create_from_cloudformation_json", classmethod(_group_create))
        PATCHES.set(LambdaFunction, "vpc_config", property(_function_vpc_config))
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own security group and function models."""
    PATCHES.restore()
