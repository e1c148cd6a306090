"""Encrypted log groups and hardened functions, deployed through change sets as the CDK CLI does.

CloudWatch Logs uses a log group's key only where the key's policy lets it, for that group
(``localcloud/kms_resources.py``); the stacks' key policy names each group they create.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.localcloud.helpers import create_stack

ACCOUNT_REGION = "us-east-1:123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def key_for_logs(*group_names: str) -> dict[str, Any]:
    """A key whose policy lets CloudWatch Logs use it for ``group_names`` alone."""
    arns = [f"arn:aws:logs:{ACCOUNT_REGION}:log-group:{name}" for name in group_names]
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arns}},
                    },
                ],
            }
        },
    }


def log_group(name: str, key: dict | None = None) -> dict[str, Any]:
    """A log group ``name`` encrypted with ``key`` (default: the template's ``Key``)."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": name,
            "KmsKeyId": key or {"Fn::GetAtt": ["Key", "Arn"]},
            "RetentionInDays": 90,
        },
    }


def reasons(cfn: BaseClient, stack: str) -> str:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return " ".join(event.get("ResourceStatusReason", "") for event in events)


def test_a_log_group_the_key_allows_is_encrypted_with_it(aws: Callable[[str], BaseClient]) -> None:
    name = f"/aws/lambda/{unique('allowed')}"
    template = {"Resources": {"Key": key_for_logs(name), "Logs": log_group(name)}}
    stack = create_stack(aws("cloudformation"), unique("Encrypted"), template)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    key = aws("kms").describe_key(KeyId=group["kmsKeyId"])["KeyMetadata"]
    assert group["kmsKeyId"] == key["Arn"]
    assert group["retentionInDays"] == 90


@pytest.mark.parametrize("named", [(), ("/aws/lambda/someone-else",)])
def test_a_key_that_does_not_name_the_group_is_refused(
    aws: Callable[[str], BaseClient], named: tuple[str, ...]
) -> None:
    cfn, stack, name = aws("cloudformation"), unique("Refused"), f"/x/{unique('group')}"
    template = {"Resources": {"Key": key_for_logs(*named), "Logs": log_group(name)}}
    if not named:
        template["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"].pop()

    assert create_stack(cfn, stack, template)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert (
        "The specified KMS key does not exist or is not allowed to be used with Arn "
        f"'arn:aws:logs:{ACCOUNT_REGION}:log-group:{name}'"
    ) in reasons(cfn, stack)


def test_a_key_policy_update_lets_a_new_group_use_the_key(
    aws: Callable[[str], BaseClient],
) -> None:
    """The project's shape: the key in one stack, updated first; its log groups in another."""
    keys, groups, export = (unique(prefix) for prefix in ("Keys", "Groups", "Key"))
    first, second = f"/x/{unique('first')}", f"/x/{unique('second')}"
    imported = {"Fn::ImportValue": export}
    key_output = {"Key": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": export}}}
    cfn = aws("cloudformation")
    create_stack(cfn, keys, {"Resources": {"Key": key_for_logs(first)}, "Outputs": key_output})
    logs_template = {"Resources": {"First": log_group(first, imported)}}
    assert create_stack(cfn, groups, logs_template)["StackStatus"] == "CREATE_COMPLETE"

    key_template = {"Resources": {"Key": key_for_logs(first, second)}, "Outputs": key_output}
    assert create_stack(cfn, keys, key_template, ChangeSetType="UPDATE")["StackStatus"] == (
        "UPDATE_COMPLETE"
    )
    logs_template["Resources"]["Second"] = log_group(second, imported)
    updated = create_stack(cfn, groups, logs_template, ChangeSetType="UPDATE")

    assert updated["StackStatus"] == "UPDATE_COMPLETE", reasons(cfn, groups)
    assert aws("logs").describe_log_groups(logGroupNamePrefix=second)["logGroups"]


def test_a_function_keeps_its_key_and_reserved_concurrency(
    aws: Callable[[str], BaseClient],
) -> None:
    template = {
        "Resources": {
            "Key": key_for_logs(),
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                    "Handler": "index.handler",
                    "Runtime": "python3.12",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "ReservedConcurrentExecutions": 10,
                    "Environment": {"Variables": {"NAME": "value"}},
                    "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]},
                },
            },
        },
        "Outputs": {"Function": {"Value": {"Ref": "Function"}}},
    }
    stack = create_stack(aws("cloudformation"), unique("Hardened"), template)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    function = stack["Outputs"][0]["OutputValue"]
    configuration = aws("lambda").get_function_configuration(FunctionName=function)
    key = aws("kms").describe_key(KeyId=configuration["KMSKeyArn"])["KeyMetadata"]
    assert configuration["KMSKeyArn"] == key["Arn"]
    concurrency = aws("lambda").get_function_concurrency(FunctionName=function)
    assert concurrency["ReservedConcurrentExecutions"] == 10
