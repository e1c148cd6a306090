"""Reading synthesized templates: resources by type, and references to a key across stacks."""

from __future__ import annotations

from typing import Any

Template = dict[str, Any]


def resources(template: Template, resource_type: str) -> dict[str, dict]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def points_at_key(value: Any, key_id: str, key_template: Template) -> bool:
    """``value`` is the key's ARN: a ``Fn::GetAtt`` in its own template, or a reference to an
    output of the key's template that holds one."""
    if value == {"Fn::GetAtt": [key_id, "Arn"]}:
        return True
    outputs = key_template.get("Outputs", {})
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        output = outputs.get(value["Fn::GetStackOutput"]["OutputName"], {})
        return output.get("Value") == {"Fn::GetAtt": [key_id, "Arn"]}
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        name = value["Fn::ImportValue"]
        exported = [o for o in outputs.values() if o.get("Export", {}).get("Name") == name]
        return any(o["Value"] == {"Fn::GetAtt": [key_id, "Arn"]} for o in exported)
    return False
