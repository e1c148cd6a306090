"""What every step of the training state machine shares: task builders and retry policies.

Tasks are ``CustomState``s holding the exact request, so each SageMaker request is written down
in full (CDK's typed SageMaker tasks cannot express checkpoints, spot, ``ModelDataSource`` or
per-run names) and IAM is granted by ``roles.py``, statement by statement.

Retry policy, by kind of call:

- SageMaker optimised integrations (create*, including ``.sync`` jobs): service errors only.
  A job that ends Failed raises ``States.TaskFailed``, which is never retried: the same job
  name cannot be reused, and a real failure would only fail again.
- Lambda: the Lambda service's own transient errors, never the function's ``InvalidInputError``.
- Idempotent SDK calls (describe, delete, read, publish): any task failure, a few times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config_schema import PROJECT, PROJECT_TAG, EnvironmentConfig
from stacks.workflow.images import WorkflowImages
from stacks.workflow.network import JobNetwork

SAGEMAKER_SERVICE_ERRORS = ["SageMaker.AmazonSageMakerException"]
SAGEMAKER_SDK_SERVICE_ERRORS = ["SageMaker.ThrottlingException", "SageMaker.SageMakerException"]
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
ANY_TASK_FAILURE = ["States.TaskFailed"]
ERROR_PATH = "$.error"


@dataclass(frozen=True)
class Retry:
    """One retrier: which errors, and how patiently."""

    errors: list[str]
    interval_s: int
    attempts: int

    def props(self) -> dict[str, Any]:
        """Keyword arguments of ``add_retry``."""
        return {
            "errors": self.errors,
            "interval": Duration.seconds(self.interval_s),
            "max_attempts": self.attempts,
            "backoff_rate": 2,
            "max_delay": Duration.minutes(5),
            "jitter_strategy": sfn.JitterType.FULL,
        }


SAGEMAKER_CREATE = Retry(SAGEMAKER_SERVICE_ERRORS, interval_s=15, attempts=4)
SAGEMAKER_SDK_CREATE = Retry(SAGEMAKER_SDK_SERVICE_ERRORS, interval_s=15, attempts=4)
LAMBDA_SERVICE = Retry(LAMBDA_SERVICE_ERRORS, interval_s=2, attempts=4)
IDEMPOTENT = Retry(ANY_TASK_FAILURE, interval_s=5, attempts=3)
# For a lookup whose usual failure is an answer (the resource does not exist): a short retry
# of any failure, since the aws-sdk integration names throttling and not found alike
# (SageMaker.SageMakerException: neither is a modelled SageMaker error); the cause, read after
# the Catch (``not_found``), tells them apart.
LOOKUP = Retry(ANY_TASK_FAILURE, interval_s=2, attempts=2)
# What SageMaker says of an endpoint, config, model or job that does not exist.
NOT_FOUND_CAUSES = ("*Could not find*", "*esource not found*")


def not_found(cause_path: str) -> sfn.Condition:
    """The error at ``cause_path`` says the resource does not exist (and nothing else)."""
    return sfn.Condition.or_(
        *(sfn.Condition.string_matches(cause_path, cause) for cause in NOT_FOUND_CAUSES)
    )


@dataclass(frozen=True)
class StepContext:
    """What the steps need from the stack to write their requests.

    ``sagemaker_role_arn`` is the jobs' execution role; ``endpoint_role_arn`` the read-only one
    the temporary endpoints' models run as.
    """

    config: EnvironmentConfig
    images: WorkflowImages
    sagemaker_role_arn: str
    endpoint_role_arn: str
    key_arn: str
    network: JobNetwork | None


def task(
    scope: Construct,
    name: str,
    resource: str,
    parameters: dict[str, Any],
    *,
    retry: Retry,
    result_path: str,
    result_selector: dict[str, Any] | None = None,
    comment: str | None = None,
) -> sfn.CustomState:
    """A Task state calling ``arn:<partition>:states:::<resource>``.

    Every task names where its result goes: CDK drops ``None`` from a custom state, and a
    missing ``ResultPath`` would replace the whole state data with the task's result.
    """
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:{Stack.of(scope).partition}:states:::{resource}",
        "Parameters": parameters,
        "ResultPath": result_path,
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    if comment is not None:
        state["Comment"] = comment
    custom = sfn.CustomState(scope, name, state_json=state)
    custom.add_retry(**retry.props())
    return custom


def on_failure(
    state: sfn.CustomState, handler: sfn.IChainable, result_path: str = ERROR_PATH
) -> sfn.CustomState:
    """Routes every error of ``state`` (``States.ALL``) to ``handler``, keeping the state data."""
    state.add_catch(handler, errors=[sfn.Errors.ALL], result_path=result_path)
    return state


def run_tags() -> list[dict[str, str]]:
    """Tags on every SageMaker resource a run creates, for cost reports per run."""
    return [
        {"Key": PROJECT_TAG, "Value": PROJECT},
        {"Key": "run", "Value.$": "$.run.run_name"},
    ]
