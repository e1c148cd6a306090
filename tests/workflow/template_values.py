"""Turns CloudFormation values of the synthesized workflow template into plain strings.

The state machine's definition and the Lambda's environment hold references to resources
(``Ref``, ``Fn::GetAtt``), to the storage stack (``Fn::GetStackOutput``, ``Fn::ImportValue``)
and joins of them. Tests that run or validate the definition need plain values: each reference
becomes a deterministic fake name (a bucket's logical id in lower case, an ARN built from the
logical id), the same on every call, so a test can create those resources in moto.
"""

from __future__ import annotations

import json
import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}


def bucket_name(logical_id: str) -> str:
    """The fake name of a bucket declared with ``logical_id``."""
    return logical_id.lower()


class Resolver:
    """Resolves values of ``template``; ``storage`` is the storage stack's template."""

    def __init__(self, template: dict, storage: dict) -> None:
        self.template = template
        self.storage = storage

    def resolve(self, value: Any, template: dict | None = None) -> Any:
        template = template or self.template
        if isinstance(value, list):
            return [self.resolve(item, template) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {key: self.resolve(item, template) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return PSEUDO.get(argument) or self._ref(argument, template)
        if function == "Fn::GetAtt":
            return self._attribute(*argument, template)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(part, template)) for part in parts)
        if function == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO[m[1]], argument)
        if function == "Fn::GetStackOutput":
            return self._storage_output(lambda name, _: name == argument["OutputName"])
        if function == "Fn::ImportValue":
            return self._storage_output(
                lambda _, output: output.get("Export", {}).get("Name") == argument
            )
        raise ValueError(f"cannot resolve {json.dumps(value)[:200]}")

    def _storage_output(self, matches) -> Any:
        for name, output in self.storage.get("Outputs", {}).items():
            if matches(name, output):
                return self.resolve(output["Value"], self.storage)
        raise KeyError("no matching output in the storage template")

    def _ref(self, logical_id: str, template: dict) -> str:
        kind = template["Resources"][logical_id]["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if kind == "AWS::S3::Bucket":
            return bucket_name(logical_id)
        if kind == "AWS::KMS::Key":
            return f"key-{logical_id.lower()}"
        return logical_id

    def _attribute(self, logical_id: str, attribute: str, template: dict) -> str:
        kind = template["Resources"][logical_id]["Type"]
        if attribute != "Arn":
            return f"{logical_id}.{attribute}"
        return {
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{bucket_name(logical_id)}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical_id.lower()}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{logical_id}:*",
        }.get(kind, f"arn:aws:fake:{REGION}:{ACCOUNT}:{logical_id}")

    def resources(self, kind: str) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == kind
        }

    def only(self, kind: str) -> tuple[str, dict]:
        (found,) = self.resources(kind).items()
        return found


def state_machine_definition(resolver: Resolver, construct: str = "Training") -> dict:
    """The ASL of the state machine in ``construct`` (the training one by default, or
    ``"StoppedRunCleanup"``), every reference replaced by a fake value."""
    (machine,) = [
        resource
        for logical_id, resource in resolver.resources("AWS::StepFunctions::StateMachine").items()
        if logical_id.startswith(f"{construct}StateMachine")
    ]
    return json.loads(resolver.resolve(machine["Properties"]["DefinitionString"]))


def validator_environment(
    resolver: Resolver, prefix: str = "InputValidatorFunction"
) -> dict[str, str]:
    """The environment variables of the input-validation function (or of the function whose
    logical id starts with ``prefix``: ``RunCostFunction``)."""
    (function,) = [
        resource
        for logical_id, resource in resolver.resources("AWS::Lambda::Function").items()
        if logical_id.startswith(prefix)
    ]
    return resolver.resolve(function["Properties"]["Environment"]["Variables"])
