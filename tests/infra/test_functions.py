"""The stacks' Lambda functions: reserved concurrency, encrypted environment, VPC when asked.

A dead-letter queue is for asynchronous invocations only: the validation function is invoked
synchronously by the state machines, and CDK's custom-resource handler reports to
CloudFormation, so neither has one (the reasons: stacks/workflow/nag_acknowledgements.py).
"""

from __future__ import annotations

import pytest

from stacks.workflow.network import DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY
from stacks.workflow.validator import RESERVED_CONCURRENCY
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.templates import points_at_key, resources

# CDK's stand-in rule for a security group without egress: it matches no traffic.
NO_EGRESS = {
    "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all traffic",
    "FromPort": 252,
    "IpProtocol": "icmp",
    "ToPort": 86,
}


def functions(env) -> dict[str, dict]:
    return resources(env.templates["Workflow"], "AWS::Lambda::Function")


def validator(env) -> dict:
    (props,) = [
        function["Properties"]
        for logical_id, function in functions(env).items()
        if logical_id.startswith("InputValidatorFunction")
    ]
    return props


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_function_has_reserved_concurrency_and_no_dead_letter_queue(synth_env, env_name):
    for logical_id, function in functions(synth_env(env_name)).items():
        assert function["Properties"].get("ReservedConcurrentExecutions"), logical_id
        assert "DeadLetterConfig" not in function["Properties"], logical_id
    assert validator(synth_env(env_name))["ReservedConcurrentExecutions"] == RESERVED_CONCURRENCY


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_function_environments_are_encrypted_with_the_environment_key(synth_env, env_name):
    env = synth_env(env_name)
    storage = env.templates["Storage"]
    ((key_id, _),) = resources(storage, "AWS::KMS::Key").items()
    for logical_id, function in functions(env).items():
        props = function["Properties"]
        if props.get("Environment", {}).get("Variables"):
            assert points_at_key(props.get("KmsKeyArn"), key_id, storage), logical_id


@pytest.mark.parametrize("env_name", ["local", "dev"])
def test_without_network_vpc_the_functions_are_outside_any_vpc(synth_env, env_name):
    assert not [lid for lid, f in functions(synth_env(env_name)).items() if "VpcConfig" in f]


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_with_network_vpc_the_validator_runs_in_the_jobs_subnets_and_reaches_nothing(
    synth_env, env_name
):
    template = synth_env(env_name).templates["Workflow"]
    vpc_config = validator(synth_env(env_name))["VpcConfig"]
    subnets = {
        lid for lid in resources(template, "AWS::EC2::Subnet") if lid.startswith("NetworkVpcJobs")
    }
    assert {subnet["Ref"] for subnet in vpc_config["SubnetIds"]} == subnets
    ((group_id, _attribute),) = [group["Fn::GetAtt"] for group in vpc_config["SecurityGroupIds"]]
    group = template["Resources"][group_id]["Properties"]
    assert group["SecurityGroupEgress"] == [NO_EGRESS]
    assert "SecurityGroupIngress" not in group
    assert not [
        rule
        for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]


def test_the_default_security_group_handler_runs_once_at_a_time(synth_env):
    (handler,) = [
        function["Properties"]
        for logical_id, function in functions(synth_env("prod")).items()
        if logical_id.startswith("CustomVpcRestrictDefaultSG")
    ]
    assert handler["ReservedConcurrentExecutions"] == DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY
