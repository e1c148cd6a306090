"""Change sets as the CDK CLI uses them: outputs, exports, imports, updates and failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.localcloud.helpers import create_stack


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def producer_template(export_name: str) -> dict:
    return {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "QueueName": {
                "Value": {"Fn::GetAtt": ["Queue", "QueueName"]},
                "Export": {"Name": export_name},
            },
            "Plain": {"Value": "not exported"},
        },
    }


def consumer_template(value: dict | str) -> dict:
    return {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Seen": {"Value": value}},
    }


def outputs_of(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_change_set_stack_has_outputs_and_exports(aws: Callable[[str], BaseClient]) -> None:
    cfn, export = aws("cloudformation"), unique("Queue")
    stack = create_stack(cfn, unique("Producer"), producer_template(export))

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = outputs_of(stack)
    assert outputs["Plain"] == "not exported"
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports[export] == outputs["QueueName"]
    assert outputs["QueueName"].startswith("Producer-")


def test_import_value_and_get_stack_output_cross_stacks(aws: Callable[[str], BaseClient]) -> None:
    cfn, export, producer = aws("cloudformation"), unique("Queue"), unique("Producer")
    queue = outputs_of(create_stack(cfn, producer, producer_template(export)))["QueueName"]

    strong = create_stack(cfn, unique("Strong"), consumer_template({"Fn::ImportValue": export}))
    weak_ref = {"Fn::GetStackOutput": {"StackName": producer, "OutputName": "QueueName"}}
    weak = create_stack(cfn, unique("Weak"), consumer_template(weak_ref))

    assert outputs_of(strong)["Seen"] == queue
    assert outputs_of(weak)["Seen"] == queue


def test_failed_change_set_rolls_back_with_the_reason(aws: Callable[[str], BaseClient]) -> None:
    cfn, name = aws("cloudformation"), unique("Broken")
    stack = create_stack(cfn, name, consumer_template({"Fn::ImportValue": "NoSuchExport"}))

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
    ]
    assert any("No export named NoSuchExport" in reason for reason in reasons)


def test_update_with_ssm_parameter_and_previous_value(aws: Callable[[str], BaseClient]) -> None:
    # The shape of every CDK stack: BootstrapVersion is an SSM-typed parameter, reused on update.
    cfn, name, path = aws("cloudformation"), unique("Versioned"), f"/{unique('boot')}/version"
    aws("ssm").put_parameter(Name=path, Value="21", Type="String")
    template = consumer_template({"Ref": "Version"})
    template["Parameters"] = {
        "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": path}
    }
    assert outputs_of(create_stack(cfn, name, template))["Seen"] == "21"

    template["Outputs"]["Extra"] = {"Value": "added"}
    updated = create_stack(
        cfn,
        name,
        template,
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}],
    )
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs_of(updated) == {"Seen": "21", "Extra": "added"}


def test_change_set_names_are_per_stack(aws: Callable[[str], BaseClient]) -> None:
    cfn = aws("cloudformation")
    first, second = unique("First"), unique("Second")
    for stack_name, value in ((first, "one"), (second, "two")):
        cfn.create_change_set(
            StackName=stack_name,
            ChangeSetName="cdk-deploy-change-set",
            TemplateBody=json.dumps(consumer_template(value)),
            ChangeSetType="CREATE",
        )
    cfn.execute_change_set(StackName=first, ChangeSetName="cdk-deploy-change-set")
    assert outputs_of(cfn.describe_stacks(StackName=first)["Stacks"][0]) == {"Seen": "one"}

    # Deleting a change set that is gone succeeds; describing it answers ChangeSetNotFound.
    cfn.delete_change_set(StackName=first, ChangeSetName="cdk-deploy-change-set")
    with pytest.raises(ClientError) as missing:
        cfn.describe_change_set(StackName=first, ChangeSetName="cdk-deploy-change-set")
    assert missing.value.response["Error"]["Code"] == "ChangeSetNotFound"
    pending = cfn.describe_change_set(StackName=second, ChangeSetName="cdk-deploy-change-set")
    assert pending["ExecutionStatus"] == "AVAILABLE"


def test_unmodelled_types_resolve_and_tagged_keys_create(
    aws: Callable[[str], BaseClient],
) -> None:
    template = {
        "Resources": {
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Threshold": 1}},
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {}, "Tags": [{"Key": "project", "Value": "llm"}]},
            },
        },
        "Outputs": {
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
            "AlarmName": {"Value": {"Ref": "Alarm"}},
            "KeyId": {"Value": {"Ref": "Key"}},
        },
    }
    stack = create_stack(aws("cloudformation"), unique("Recorded"), template)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = outputs_of(stack)
    assert (
        outputs["AlarmArn"]
        == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm/{outputs['AlarmName']}"
    )
    tags = aws("kms").list_resource_tags(KeyId=outputs["KeyId"])["Tags"]
    assert tags == [{"TagKey": "project", "TagValue": "llm"}]
