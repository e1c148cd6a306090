"""State machines created through CloudFormation execute, with moto's ASL interpreter."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.localcloud.helpers import create_stack, run_execution

ROLE = "arn:aws:iam::123456789012:role/states"


def machine_template(properties: dict) -> dict:
    return {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": ROLE, **properties},
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }


def deploy_machine(aws: Callable[[str], BaseClient], properties: dict) -> str:
    stack = create_stack(
        aws("cloudformation"), f"Sfn-{uuid.uuid4().hex[:8]}", machine_template(properties)
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return stack["Outputs"][0]["OutputValue"]


def test_definition_string_with_substitutions_executes(aws: Callable[[str], BaseClient]) -> None:
    definition = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Pass",
                "Parameters": {"greeting": "${Greeting}", "name.$": "$.name"},
                "End": True,
            }
        },
    }
    arn = deploy_machine(
        aws,
        {
            "DefinitionString": json.dumps(definition),
            "DefinitionSubstitutions": {"Greeting": "hello"},
            "StateMachineType": "STANDARD",
        },
    )
    result = run_execution(aws("stepfunctions"), arn, {"name": "ada"})
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"greeting": "hello", "name": "ada"}


def test_definition_object_and_unnamed_executions(aws: Callable[[str], BaseClient]) -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n must exceed 1"},
        },
    }
    arn = deploy_machine(aws, {"Definition": definition})
    sfn = aws("stepfunctions")
    big, small = run_execution(sfn, arn, {"n": 5}), run_execution(sfn, arn, {"n": 0})
    assert big["status"] == "SUCCEEDED"
    assert (small["status"], small["error"], small["cause"]) == (
        "FAILED",
        "TooSmall",
        "n must exceed 1",
    )
    assert big["name"] != small["name"]  # each unnamed execution gets its own UUID


def test_timestamps_in_a_task_result_serialise(aws: Callable[[str], BaseClient]) -> None:
    aws("s3").create_bucket(Bucket=f"dated-{uuid.uuid4().hex[:8]}")
    definition = {
        "StartAt": "List buckets",
        "States": {
            "List buckets": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets",
                "End": True,
            }
        },
    }
    arn = deploy_machine(aws, {"DefinitionString": json.dumps(definition)})
    result = run_execution(aws("stepfunctions"), arn, {})
    assert result["status"] == "SUCCEEDED"
    created = json.loads(result["output"])["Buckets"][0]["CreationDate"]
    assert created[:2] == "20" and "T" in created  # an ISO 8601 string


def test_a_name_step_functions_refuses_is_refused(aws: Callable[[str], BaseClient]) -> None:
    arn = deploy_machine(
        aws, {"Definition": {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}}
    )
    sfn = aws("stepfunctions")
    for name, code in (
        ("bad name!", "InvalidName"),
        ("a/b", "InvalidName"),
        ("x" * 81, "ValidationException"),  # AWS: length constraint of the name member
    ):
        with pytest.raises(ClientError) as error:
            sfn.start_execution(stateMachineArn=arn, name=name, input="{}")
        assert error.value.response["Error"]["Code"] == code, name
    assert sfn.start_execution(stateMachineArn=arn, name="run.1_a-b", input="{}")["executionArn"]
