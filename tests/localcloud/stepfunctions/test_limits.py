"""Step Functions' 256 KiB payload limit: over 262,144 bytes fails with States.DataLimitExceeded.

Sizes are of the JSON text as UTF-8, as AWS counts them
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from localcloud.stepfunctions.limits import MAX_PAYLOAD_BYTES
from tests.localcloud.helpers import run_execution

ROLE = "arn:aws:iam::123456789012:role/states"


def create_machine(aws: Callable[[str], BaseClient], states: dict, start: str) -> str:
    return aws("stepfunctions").create_state_machine(
        name=f"limits-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": start, "States": states}),
        roleArn=ROLE,
    )["stateMachineArn"]


def finished(sfn: BaseClient, started: dict, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"{started['executionArn']} still running after {timeout_s} s")


@pytest.fixture(scope="module")
def doubler(aws: Callable[[str], BaseClient]) -> str:
    """A state machine whose output is its input's ``text`` twice, as one JSON string."""
    states = {
        "Double": {
            "Type": "Pass",
            "Parameters": {"text.$": "States.Format('{}{}', $.text, $.text)"},
            "OutputPath": "$.text",
            "End": True,
        }
    }
    return create_machine(aws, states, "Double")


def test_a_state_output_of_256_kib_passes_and_one_byte_more_fails(
    aws: Callable[[str], BaseClient], doubler: str
) -> None:
    sfn = aws("stepfunctions")
    half = (MAX_PAYLOAD_BYTES - 2) // 2  # the output is the doubled text between two quotes

    at_limit = run_execution(sfn, doubler, {"text": "x" * half})
    over = run_execution(sfn, doubler, {"text": "x" * half + "y"})

    assert at_limit["status"] == "SUCCEEDED"
    assert len(at_limit["output"].encode()) == MAX_PAYLOAD_BYTES
    assert (over["status"], over["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_a_task_result_over_the_limit_is_not_caught_by_states_all(
    aws: Callable[[str], BaseClient],
) -> None:
    bucket = f"limits-{uuid.uuid4().hex[:8]}"
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="small", Body=b"x" * 1000)
    aws("s3").put_object(Bucket=bucket, Key="large", Body=b"x" * (MAX_PAYLOAD_BYTES + 1))
    states = {
        "Read": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": bucket, "Key.$": "$.key"},
            "ResultSelector": {"size.$": "$.ContentLength"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
            "End": True,
        },
        "Handled": {"Type": "Pass", "Result": "caught", "End": True},
    }
    machine = create_machine(aws, states, "Read")
    sfn = aws("stepfunctions")

    large = run_execution(sfn, machine, {"key": "large"})
    small = run_execution(sfn, machine, {"key": "small"})

    assert (large["status"], large["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert small["status"] == "SUCCEEDED"
    assert json.loads(small["output"]) == {"size": 1000}


def test_an_execution_input_over_the_limit_is_refused_or_fails(
    aws: Callable[[str], BaseClient],
) -> None:
    sfn = aws("stepfunctions")
    # Its output is small whatever its input: only the input can break the limit.
    ignorer = create_machine(
        aws, {"Ignore": {"Type": "Pass", "Result": "ok", "End": True}}, "Ignore"
    )
    too_many_characters = json.dumps({"text": "x" * MAX_PAYLOAD_BYTES})
    # Within StartExecution's 262,144 characters, over 262,144 bytes: 2 bytes per "é".
    too_many_bytes = json.dumps({"text": "é" * (MAX_PAYLOAD_BYTES // 2)}, ensure_ascii=False)

    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=ignorer, input=too_many_characters)
    failed = finished(sfn, sfn.start_execution(stateMachineArn=ignorer, input=too_many_bytes))

    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert (
        "Value at 'input' failed to satisfy constraint: Member must have length less than "
        "or equal to 262144" in error["Message"]
    )  # the input is sensitive: no value shown
    assert (failed["status"], failed["error"]) == ("FAILED", "States.DataLimitExceeded")
    # {"text":"é…"} in 262,143 bytes: within the limit.
    within = json.dumps({"text": "é" * (MAX_PAYLOAD_BYTES // 2 - 6)}, ensure_ascii=False)
    started = sfn.start_execution(stateMachineArn=ignorer, input=within)
    assert finished(sfn, started)["status"] == "SUCCEEDED"
