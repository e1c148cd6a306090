"""Every log group the stacks create is encrypted with the environment's key and expires.

The key's policy lets CloudWatch Logs use it for exactly those log groups (and SageMaker's two
job log groups, which an account encrypts itself: docs/security.md). Every function, state
machine and build logs to one of them: a function without a log group of its own gets one from
Lambda, unencrypted and kept forever.
"""

from __future__ import annotations

import pytest
from aws_cdk import aws_logs as logs

from app import build_app
from stacks.encrypted_logs import LOG_GROUP_CONTEXT
from stacks.storage import SAGEMAKER_JOB_LOG_GROUPS
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.templates import Template, points_at_key, resources
from tests.pipeline.synth import synth


def logs_key_arns(key: dict) -> set[str]:
    """The log groups the key's policy lets CloudWatch Logs use it for."""
    (statement,) = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if str(statement["Principal"].get("Service", "")).startswith("logs.")
    ]
    return set(statement["Condition"]["ArnEquals"][LOG_GROUP_CONTEXT])


def log_group_problems(
    templates: dict[str, Template], key_template: Template, account: str, region: str
) -> list[str]:
    """What is wrong with the log groups of ``templates`` (by name), whose key is the one key
    of ``key_template``; an empty list when nothing is."""
    ((key_id, key),) = resources(key_template, "AWS::KMS::Key").items()
    allowed = logs_key_arns(key)
    arn = f"arn:aws:logs:{region}:{account}:log-group:"
    problems, created = [], set()
    for stack, template in templates.items():
        groups = resources(template, "AWS::Logs::LogGroup")
        for logical_id, group in groups.items():
            where, props = f"{stack}/{logical_id}", group["Properties"]
            if not points_at_key(props.get("KmsKeyId"), key_id, key_template):
                problems.append(f"{where}: not encrypted with the key ({props.get('KmsKeyId')})")
            if "RetentionInDays" not in props:
                problems.append(f"{where}: no retention")
            name = props.get("LogGroupName")
            if not isinstance(name, str) or arn + name not in allowed:
                problems.append(f"{where}: the key's policy does not name it ({name})")
            created.add(arn + name if isinstance(name, str) else logical_id)
        for logical_id, function in resources(template, "AWS::Lambda::Function").items():
            target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            if not (isinstance(target, dict) and target.get("Ref") in groups):
                problems.append(f"{stack}/{logical_id}: logs to a group Lambda makes ({target})")
        for logical_id, machine in resources(template, "AWS::StepFunctions::StateMachine").items():
            destinations = machine["Properties"]["LoggingConfiguration"]["Destinations"]
            for destination in destinations:
                target = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]
                if target.get("Fn::GetAtt", [None])[0] not in groups:
                    problems.append(f"{stack}/{logical_id}: logs to {target}")
        for logical_id, project in resources(template, "AWS::CodeBuild::Project").items():
            cloudwatch = project["Properties"].get("LogsConfig", {}).get("CloudWatchLogs", {})
            if cloudwatch.get("GroupName", {}).get("Ref") not in groups:
                problems.append(f"{stack}/{logical_id}: logs to CodeBuild's own group")
    extra = allowed - created - {arn + name for name in SAGEMAKER_JOB_LOG_GROUPS}
    problems += [f"the key's policy names {group}, which no stack creates" for group in extra]
    return problems


def environment_problems(synth_env, env_name: str) -> list[str]:
    env = synth_env(env_name)
    storage = env.stacks["Storage"]
    return log_group_problems(
        env.templates, env.templates["Storage"], storage.account, storage.region
    )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_log_group_is_encrypted_with_the_environment_key(synth_env, env_name):
    assert environment_problems(synth_env, env_name) == []


def test_the_workflow_log_groups_are_named_after_its_stack(synth_env):
    names = {
        group["Properties"]["LogGroupName"]
        for group in resources(
            synth_env("prod").templates["Workflow"], "AWS::Logs::LogGroup"
        ).values()
    }
    assert names == {
        "/aws/vendedlogs/states/Prod-Workflow-training",
        "/aws/vendedlogs/states/Prod-Workflow-stopped-run-cleanup",
        "/aws/lambda/Prod-Workflow-input-validator",
        "/aws/lambda/Prod-Workflow-run-cost",
        "/aws/vpc/Prod-Workflow-flow-logs",
        "/aws/lambda/Prod-Workflow-vpc-default-security-group",
    }


def test_the_pipeline_builds_log_to_a_group_encrypted_with_its_key(tmp_path_factory):
    pipeline = synth(tmp_path_factory, "pipeline").templates[("", "Pipeline")]
    problems = log_group_problems({"Pipeline": pipeline}, pipeline, "111111111111", "us-east-1")
    assert problems == []
    assert len(resources(pipeline, "AWS::CodeBuild::Project")) > 2


def test_a_new_log_group_without_the_key_is_found(tmp_path):
    """What the tests above catch: a log group added the plain CDK way, in any stack."""
    app = build_app("dev", outdir=str(tmp_path))
    stage = app.node.find_child("Dev")
    logs.LogGroup(stage.node.find_child("Workflow"), "Careless")
    assembly = app.synth().get_nested_assembly("assembly-Dev")
    templates = {stack.stack_name.split("-")[-1]: stack.template for stack in assembly.stacks}
    problems = log_group_problems(templates, templates["Storage"], "222222222222", "us-east-1")

    careless = [problem for problem in problems if problem.startswith("Workflow/Careless")]
    assert [problem.split(": ")[1] for problem in careless] == [
        "not encrypted with the key (None)",
        "the key's policy does not name it (None)",
    ]
