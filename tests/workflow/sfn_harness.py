"""Executes the synthesized state machine in moto's Step Functions interpreter.

Moto runs Lambda in Docker and has no SageMaker integration, so while a ``WorkflowRunner`` is
active the interpreter is patched, in this process only:

- ``lambda:invoke`` calls ``validate_input.handler`` (or, for the cost function,
  ``run_cost.handler`` with the stub and moto's S3 as its clients) in-process, with the
  environment variables the template gives the function; ``cost_error`` makes the cost
  function raise it;
- ``sagemaker:*`` (the optimised integration, ``.sync`` included: the local cloud's
  implementation) and ``aws-sdk:sagemaker:*`` answer from a ``SageMakerStub``;
- Wait states and retry intervals take no time (the waits asked for are recorded);
- two gaps of moto's interpreter are closed the way AWS behaves: an ``aws-sdk`` result's
  streaming ``Body`` becomes a string (``s3:getObject``), and a Fail state may re-raise a
  caught ``States.*`` error through ``ErrorPath`` (moto rejects the prefix there).

S3 (the evaluation report) and SNS (the notifications, read back through an SQS queue) are
moto's own, reached over HTTP as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
from botocore.response import StreamingBody
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    lambda_eval_utils,
    state_task_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

from localcloud.sagemaker.sfn_service import StateTaskServiceSageMaker
from tests.workflow.sagemaker_stub import SageMakerStub
from tests.workflow.template_values import ACCOUNT, REGION

FINISHED = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")


@dataclass
class Execution:
    """How one execution ended and which states it went through."""

    status: str
    error: str | None
    cause: str | None
    visited: list[str]
    output: dict | None
    notifications: list[dict]
    waits: list[int]
    arn: str = ""


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="ak",
        aws_secret_access_key="sk",
    )


_ORIGINAL_ERROR_EQUALS = error_equals_decl.ErrorEqualsDecl._eval_body
# AWS: "States.ALL ... does not catch the States.DataLimitExceeded or States.Runtime error types"
# (nor does States.TaskFailed); moto's interpreter lets them match, which would hide a path that
# stops an execution before its cleanup.
_UNCATCHABLE = {
    StatesErrorNameType.StatesRuntime,
    StatesErrorNameType.StatesStatesDataLimitExceeded,
}


def _aws_error_equals(self: Any, env: Any) -> None:
    error_name = env.stack[-1]
    if isinstance(error_name, StatesErrorName) and error_name.typ in _UNCATCHABLE:
        env.stack.pop()
        env.stack.append(False)
        return
    _ORIGINAL_ERROR_EQUALS(self, env)


class WorkflowRunner:
    """Creates the state machine in moto and runs executions against a ``SageMakerStub``."""

    def __init__(
        self,
        endpoint: str,
        definition: dict,
        validator_env: dict[str, str],
        cost_env: dict[str, str] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.definition = definition
        self.validator_env = validator_env
        self.cost_env = cost_env or {}
        self.cost_error: Exception | None = None
        self.stub: SageMakerStub | None = None
        self.waits: list[int] = []
        self.sfn = client("stepfunctions", endpoint)
        self.sqs = client("sqs", endpoint)
        self.queue_url = ""
        self.arn = ""

    def setup(self, topic_arn: str, buckets: list[str]) -> None:
        """The topic (with a queue to read it back), the buckets and the state machine."""
        s3, sns = client("s3", self.endpoint), client("sns", self.endpoint)
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
        topic = sns.create_topic(Name=topic_arn.rsplit(":", 1)[1])["TopicArn"]
        assert topic == topic_arn, (topic, topic_arn)
        self.queue_url = self.sqs.create_queue(QueueName=f"notifications-{uuid.uuid4().hex[:8]}")[
            "QueueUrl"
        ]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        self.arn = self.sfn.create_state_machine(
            name=f"training-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(self.definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/StateMachineRole",
        )["stateMachineArn"]

    def run(self, execution_input: Any, stub: SageMakerStub, timeout_s: float = 60) -> Execution:
        self.stub, self.waits = stub, []
        started = self.sfn.start_execution(
            stateMachineArn=self.arn,
            name=f"run-{uuid.uuid4().hex[:12]}",
            input=json.dumps(execution_input),
        )
        deadline = time.monotonic() + timeout_s
        while True:
            described = self.sfn.describe_execution(executionArn=started["executionArn"])
            if described["status"] in FINISHED:
                break
            assert time.monotonic() < deadline, "the execution did not finish in time"
            time.sleep(0.05)
        events = self.sfn.get_execution_history(
            executionArn=started["executionArn"], maxResults=1000
        )["events"]
        visited = [
            event["stateEnteredEventDetails"]["name"]
            for event in events
            if event["type"].endswith("StateEntered")
        ]
        output = described.get("output")
        return Execution(
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            visited=visited,
            output=json.loads(output) if output else None,
            notifications=self._drain_notifications(),
            waits=list(self.waits),
            arn=started["executionArn"],
        )

    def _drain_notifications(self) -> list[dict]:
        messages = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return messages
            for message in batch["Messages"]:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def _cost_handler(self, payload: dict) -> dict:
        import run_cost  # the function's folder is on sys.path (conftest)

        if self.cost_error is not None:
            raise self.cost_error
        clients = types.SimpleNamespace(sagemaker=self.stub, s3=client("s3", self.endpoint))
        return run_cost.handler(payload, clients=clients)

    def _invoke_validator(self, parameters: dict, region: str, state_credentials: Any) -> dict:
        import validate_input  # the function's folder is on sys.path (conftest)

        payload = json.loads(parameters["Payload"])
        is_cost = ":function:RunCostFunction" in parameters["FunctionName"]
        handler = self._cost_handler if is_cost else validate_input.handler
        with mock.patch.dict(os.environ, self.cost_env if is_cost else self.validator_env):
            try:
                result = handler(payload)
            except Exception as error:  # the Lambda runtime reports any exception this way
                payload = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": str(uuid.uuid4()),
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload}
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}

    @contextlib.contextmanager
    def patched_interpreter(self) -> Iterator[WorkflowRunner]:
        runner = self

        class StubbedSageMaker(StateTaskServiceSageMaker):
            def _client(self, region: str, credentials: Any) -> Any:
                return runner.stub

        class SdkWithStubbedSageMaker(state_task_service_aws_sdk.StateTaskServiceAwsSdk):
            def _eval_service_task(self, env: Any, **kwargs: Any) -> None:
                if self._get_boto_service_name() != "sagemaker":
                    super()._eval_service_task(env=env, **kwargs)
                    env.stack.append(_read_bodies(env.stack.pop()))
                    return
                call = getattr(runner.stub, self._get_boto_service_action())
                env.stack.append(call(**kwargs["normalised_parameters"]))

        original = state_task_service_factory.state_task_service_for

        def service_for(service_name: str) -> Any:
            if service_name == "sagemaker":
                return StubbedSageMaker()
            if service_name == "aws-sdk":
                return SdkWithStubbedSageMaker()
            return original(service_name)

        def no_wait(function: Any, env: Any, wait_seconds: int) -> None:
            runner.waits.append(wait_seconds)

        with (
            mock.patch.multiple(state_task_service_factory, state_task_service_for=service_for),
            mock.patch.multiple(state_task_factory, state_task_service_for=service_for),
            mock.patch.object(lambda_eval_utils, "_invoke_lambda_function", self._invoke_validator),
            mock.patch.object(wait_function.WaitFunction, "_wait_interval", no_wait),
            mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=lambda s: None)),
            mock.patch.object(state_fail, "CustomErrorName", _ReraisedErrorName),
            mock.patch.dict(
                state_task_service_aws_sdk._SERVICE_ERROR_NAMES, {"sagemaker": "SageMaker"}
            ),
            mock.patch.object(error_equals_decl.ErrorEqualsDecl, "_eval_body", _aws_error_equals),
        ):
            yield self


class _ReraisedErrorName(ErrorName):
    """A Fail state's error name, ``States.*`` included (AWS re-raises caught errors so)."""


def _read_bodies(response: Any) -> Any:
    """AWS gives an ``aws-sdk`` task's streaming ``Body`` as a string; moto leaves the stream."""
    if isinstance(response, dict):
        return {key: _read_bodies(value) for key, value in response.items()}
    if isinstance(response, StreamingBody):
        return response.read().decode()
    return response
