"""The problems of a rejected input, read out of the validation Lambda's error.

A Lambda function's error reaches Step Functions with the function's error type as ``Error``
and, as ``Cause``, the Python runtime's whole error payload as JSON text: ``{"errorMessage",
"errorType", "requestId", "stackTrace"}`` (``make_error`` in awslambdaric's ``bootstrap.py``;
the TaskFailed cause recorded against AWS in localstack's
``tests/aws/services/stepfunctions/v2/error_handling/test_task_service_lambda.snapshot.json``).
A person reads the ``errorMessage``, the list of problems (docs/execution-input.md), so these
two states put it in ``$.error.Cause`` before the notification and the failed execution show
it, without JSON or a stack trace.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH


def read_the_problems(scope: Construct, then: sfn.IChainable) -> sfn.Pass:
    """Two Pass states (JSONPath cannot index a parsed string in one), then ``then``."""
    parse = sfn.Pass(
        scope,
        "Read the validation error",
        parameters={"payload.$": "States.StringToJson($.error.Cause)"},
        result_path="$.rejection",
    )
    keep = sfn.Pass(
        scope,
        "Read the listed problems",
        parameters={"Error.$": "$.error.Error", "Cause.$": "$.rejection.payload.errorMessage"},
        result_path=ERROR_PATH,
    )
    parse.next(keep).next(then)
    return parse
