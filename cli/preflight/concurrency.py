"""Lambda concurrency for the reservations of the input validator (stacks/workflow/validator.py)
and the cost step's function (stacks/workflow/run_cost_function.py).

Lambda keeps at least 100 units of an account's concurrency unreserved, so a function may
reserve only what exceeds that (https://docs.aws.amazon.com/lambda/latest/dg/
configuration-concurrency.html). New accounts can start with a total below 115, where the
Workflow stack's first deploy fails on the functions' ReservedConcurrentExecutions.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from cli.preflight.findings import Finding, cannot_tell, denial, denied, error_code, ok, problem
from stacks.config_schema import EnvironmentConfig
from stacks.workflow.network import DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY
from stacks.workflow.run_cost_function import RESERVED_CONCURRENCY as COST_CONCURRENCY
from stacks.workflow.validator import RESERVED_CONCURRENCY

# What the Workflow stack's functions reserve in every environment.
WORKFLOW_FUNCTIONS = RESERVED_CONCURRENCY + COST_CONCURRENCY

# What Lambda leaves unreserved in every account and region (the page above).
MIN_UNRESERVED = 100


def reserved_by(env: EnvironmentConfig) -> int:
    """What the Workflow stack's functions reserve: the validator, the cost step's function,
    and in VPC mode CDK's handler that empties the VPC's default security group."""
    return WORKFLOW_FUNCTIONS + (
        DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY if env.network.vpc else 0
    )


def check_concurrency(
    lambda_client: Any, cloudformation: Any, stage: str, reserved: int = WORKFLOW_FUNCTIONS
) -> list[Finding]:
    """Whether the Workflow stack's reservations (``reserved``) fit the unreserved concurrency.

    A deployed ``<stage>-Workflow`` stack already holds the reservation, so the unreserved
    concurrency then only has to stay at Lambda's minimum.
    """
    subject = f"Lambda concurrency for {stage}-Workflow"
    try:
        limit = lambda_client.get_account_settings()["AccountLimit"]
    except ClientError as error:
        if denied(error):
            return [cannot_tell("lambda", subject, denial(error))]
        raise
    unreserved = int(limit.get("UnreservedConcurrentExecutions", 0))
    needed = MIN_UNRESERVED + reserved
    seen = f"{unreserved} unreserved of {limit.get('ConcurrentExecutions', '?')}"
    if unreserved >= needed:
        return [ok("lambda", subject, f"{seen}; the stack reserves {reserved}")]
    if _deployed(cloudformation, f"{stage}-Workflow"):
        return [ok("lambda", subject, f"{seen}; the deployed stack already holds its reservation")]
    return [
        problem(
            "lambda",
            subject,
            f"{seen}: the stack's functions reserve {reserved} and Lambda keeps "
            f"{MIN_UNRESERVED} unreserved, so the first deploy would fail",
            f"request an increase of the AWS Lambda quota 'Concurrent executions' to at least "
            f"{needed} in the Service Quotas console",
        )
    ]


def _deployed(cloudformation: Any, stack: str) -> bool:
    try:
        cloudformation.describe_stacks(StackName=stack)
    except ClientError as error:
        if error_code(error) == "ValidationError":
            return False
        raise
    return True
