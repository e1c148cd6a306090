"""cdk-nag acknowledgements of single IAM wildcard resources, named as cdk-nag names them."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Accepts AwsSolutions-IAM5 for one wildcard ``resource`` in ``construct``'s policies.

    ``resource`` is the value given to the policy statement (tokens and all); it is rendered
    the way cdk-nag renders it in the finding, so the acknowledgement matches that one
    finding and no other.
    """
    rendered = _flatten(Stack.of(construct).resolve(resource))
    acknowledge(construct, "AwsSolutions-IAM5", reason, finding=f"Resource::{rendered}")


def _flatten(node: Any) -> str:
    """cdk-nag's ``flattenCfnReference``: Join joined, Ref as <X>, GetAtt as <X.Attr>, else JSON."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(_flatten(item) for item in items)
    if "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if "Fn::ImportValue" in node:
        return _flatten(node["Fn::ImportValue"])
    if "Ref" in node:
        return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_findings(policy: iam.CfnPolicy) -> list[str]:
    """The AwsSolutions-IAM5 findings cdk-nag reports on ``policy``, as finding ids."""
    document = Stack.of(policy).resolve(policy.policy_document)
    findings: dict[str, None] = {}
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement.get("Action")):
            if "*" in action:
                findings[f"Action::{action}"] = None
        for resource in _as_list(statement.get("Resource")):
            rendered = _flatten(resource)
            if "*" in rendered:
                findings[f"Resource::{rendered}"] = None
    return list(findings)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
