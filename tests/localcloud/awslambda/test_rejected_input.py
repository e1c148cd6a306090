"""A rejected input as a person sees it, through the local cloud as on AWS: the validation
Lambda really runs (the deployed bundle, the local cloud's Lambda runtime), its error payload is
AWS's, and the synthesized state machine turns it into the clean list of problems in the
execution's failure cause and the REJECTED notification."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from botocore.client import BaseClient

from stacks.workflow.validator_code import bundle_files
from tests.infra.conftest import synth_env  # noqa: F401  (the session's one synth)
from tests.localcloud.helpers import LAMBDA_TRUST, run_execution, zip_of
from tests.workflow.template_values import (
    ACCOUNT,
    Resolver,
    state_machine_definition,
    validator_environment,
)

BAD_INPUT = {
    "base_model": "s3://nowhere-bucket/model/",
    "recipe": "lorax",
    "dataset": {"s3_uri": "s3://data bucket/x"},
    "hyperparameters": {"learning_rate": -1},
}
PROBLEMS = (
    "The execution input is not valid (contract: docs/execution-input.md):\n"
    "- base_model: the training jobs can only read s3://"
)


@pytest.fixture(scope="module")
def workflow(aws: Callable[[str], BaseClient], synth_env) -> dict:  # noqa: F811
    """The local environment's validation Lambda and training state machine, created in the
    local cloud from the synthesized templates, with a queue reading the topic."""
    synth = synth_env("local")
    resolver = Resolver(synth.templates["Workflow"], synth.templates["Storage"])
    definition = state_machine_definition(resolver)
    function_arn = definition["States"]["Validate the input"]["Parameters"]["FunctionName"]
    topic_arn = definition["States"]["Report the rejected input"]["Parameters"]["TopicArn"]
    role = aws("iam").create_role(
        RoleName=f"validator-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
    )["Role"]["Arn"]
    aws("lambda").create_function(
        FunctionName=function_arn.rsplit(":", 1)[1],
        Runtime="python3.12",
        Role=role,
        Handler="validate_input.handler",
        Code={"ZipFile": zip_of({name: p.read_text() for name, p in bundle_files().items()})},
        Timeout=30,
        Environment={"Variables": validator_environment(resolver)},
    )
    sns, sqs = aws("sns"), aws("sqs")
    assert sns.create_topic(Name=topic_arn.rsplit(":", 1)[1])["TopicArn"] == topic_arn
    queue = sqs.create_queue(QueueName=f"rejections-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    machine = aws("stepfunctions").create_state_machine(
        name=f"training-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/StateMachineRole",
    )["stateMachineArn"]
    return {"function": function_arn, "machine": machine, "queue": queue}


def test_the_lambda_error_payload_is_aws_s(aws, workflow):
    response = aws("lambda").invoke(
        FunctionName=workflow["function"],
        Payload=json.dumps({"input": BAD_INPUT, "execution_name": "e"}),
    )
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorType"] == "InvalidInputError"
    assert payload["errorMessage"].startswith(PROBLEMS)
    assert payload["stackTrace"] and payload["requestId"]


def test_a_rejection_shows_the_list_of_problems_and_nothing_else(aws, workflow):
    described = run_execution(aws("stepfunctions"), workflow["machine"], BAD_INPUT)

    assert (described["status"], described["error"]) == ("FAILED", "InvalidInputError")
    cause = described["cause"]
    assert cause.startswith(PROBLEMS)
    assert cause.splitlines()[1:] == [
        line for line in cause.splitlines()[1:] if line.startswith("- ")
    ]  # one problem a line, no JSON, no stack trace
    for field in ("recipe:", "dataset.s3_uri:", "hyperparameters.learning_rate: must be > 0"):
        assert any(line.startswith(f"- {field}") for line in cause.splitlines()), field
    (message,) = aws("sqs").receive_message(QueueUrl=workflow["queue"], WaitTimeSeconds=5)[
        "Messages"
    ]
    notification = json.loads(message["Body"])
    assert notification["MessageAttributes"]["status"]["Value"] == "REJECTED"
    assert cause in notification["Message"]
    assert "stackTrace" not in notification["Message"]
    assert "errorMessage" not in notification["Message"]
