"""Every static task parameter of the dev and prod state machines is valid for its API.

The synthesized definition is resolved into plain JSON (references become realistic stand-ins:
``sg-…`` for a security group, ``subnet-…`` for a subnet, ARNs for roles and keys) and each
service task's static Parameters are checked against botocore's request shape with the local
cloud's validator: unknown and required members, types, enums, lengths, counts and patterns.
Values that come from paths (``Name.$``) are checked when the task runs, by the local cloud.
"""

from __future__ import annotations

import hashlib

import pytest

from localcloud.validation.definitions import findings, service_tasks
from tests.workflow.template_values import Resolver, state_machine_definition

# What EC2 names its resources' ids with, for a Ref (or a security group's GroupId).
_EC2_PREFIXES = {
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::VPC": "vpc",
    "AWS::EC2::SecurityGroup": "sg",
}
# The SageMaker requests the training workflow makes in every environment.
_TRAINING_APIS = {
    "CreateProcessingJob",
    "CreateTrainingJob",
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "CreateModelPackage",
    "Publish",
    "Invoke",
}


class RealisticValues(Resolver):
    """References resolved to values shaped like the real ones, so patterns apply to them."""

    def _ref(self, logical_id: str, template: dict) -> str:
        kind = template["Resources"][logical_id]["Type"]
        if kind in _EC2_PREFIXES:
            return _ec2_id(kind, logical_id)
        return super()._ref(logical_id, template)

    def _attribute(self, logical_id: str, attribute: str, template: dict) -> str:
        kind = template["Resources"][logical_id]["Type"]
        if kind == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
            return _ec2_id(kind, logical_id)
        return super()._attribute(logical_id, attribute, template)


def _ec2_id(kind: str, logical_id: str) -> str:
    return f"{_EC2_PREFIXES[kind]}-{hashlib.sha256(logical_id.encode()).hexdigest()[:17]}"


@pytest.fixture(scope="module", params=["dev", "prod"])
def definitions(request, synth_env) -> dict[str, dict]:
    synth = synth_env(request.param)
    resolver = RealisticValues(synth.templates["Workflow"], synth.templates["Storage"])
    return {
        machine: state_machine_definition(resolver, machine)
        for machine in ("Training", "StoppedRunCleanup")
    }


def test_every_service_task_is_checked(definitions: dict[str, dict]) -> None:
    apis = {task.operation.name for task in service_tasks(definitions["Training"])}
    assert apis >= _TRAINING_APIS
    assert list(service_tasks(definitions["StoppedRunCleanup"]))


@pytest.mark.parametrize("machine", ["Training", "StoppedRunCleanup"])
def test_every_static_task_parameter_is_valid_for_its_api(
    definitions: dict[str, dict], machine: str
) -> None:
    problems = findings(definitions[machine])
    assert not problems, "\n".join(problem.describe() for problem in problems)
