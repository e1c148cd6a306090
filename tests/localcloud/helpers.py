"""Small helpers shared by the local-cloud tests."""

from __future__ import annotations

import io
import json
import textwrap
import time
import zipfile
from typing import Any

from botocore.client import BaseClient

FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def zip_of(files: dict[str, str]) -> bytes:
    """A zip archive holding ``files`` (name -> source, dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


def run_execution(
    sfn: BaseClient, state_machine_arn: str, payload: dict[str, Any], timeout_s: float = 60
) -> dict[str, Any]:
    """Start an execution and wait until it finishes; return ``describe_execution``."""
    arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] in FINISHED:
            return described
        time.sleep(0.2)
    raise AssertionError(f"execution {arn} still running after {timeout_s} s")


def create_stack(cfn: BaseClient, name: str, template: dict[str, Any], **kwargs: Any) -> dict:
    """Create a stack the way the CDK CLI does (a change set, then execute); return it."""
    change_set = cfn.create_change_set(
        StackName=name,
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=json.dumps(template),
        ChangeSetType=kwargs.pop("ChangeSetType", "CREATE"),
        **kwargs,
    )
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


# A function's role as AWS requires it: Lambda may assume it (the local cloud reads the trust
# policy), and here it may do anything, for handlers that call other services.
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def lambda_role(iam: BaseClient, name: str) -> str:
    """A role Lambda may assume, allowed everything; returns its ARN."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    return arn["Role"]["Arn"]
