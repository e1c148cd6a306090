"""Where commands act: the local cloud on this machine, or an AWS account through a profile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"})


class TargetError(RuntimeError):
    """The target cannot be reached or the project is not deployed there."""


@dataclass
class Target:
    """A boto3 session aimed at one environment's deployment."""

    env_name: str
    session: boto3.Session
    endpoint_url: str | None = None

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, config=_RETRIES)

    @property
    def stage(self) -> str:
        """The CDK stage name, which prefixes every stack name: ``Local-Workflow``."""
        return self.env_name.capitalize()

    def stack_outputs(self, stack: str) -> dict[str, str]:
        """The outputs of one of this environment's stacks, by output key.

        Raises:
            TargetError: the stack is not deployed on this target.
        """
        name = f"{self.stage}-{stack}"
        with _deployed(name):
            (described,) = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def state_machine_arn(self) -> str:
        """The training state machine (the workflow stack's ``StateMachineArn`` output; the
        stack also holds the stopped-run cleanup's).

        Raises:
            TargetError: the workflow stack is not deployed, or predates that output.
        """
        outputs = self.stack_outputs("Workflow")
        if "StateMachineArn" not in outputs:
            raise TargetError(f"{self.stage}-Workflow has no StateMachineArn output; deploy it")
        return outputs["StateMachineArn"]

    def buckets(self) -> tuple[str, str]:
        """(data bucket, artifacts bucket)."""
        outputs = self.stack_outputs("Storage")
        return outputs["DataBucketName"], outputs["ArtifactsBucketName"]


@contextmanager
def _deployed(stack_name: str) -> Iterator[None]:
    """Turns CloudFormation's answer for a stack that does not exist into a TargetError."""
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") != "ValidationError":
            raise  # credentials, permissions, throttling: cli.errors explains those
        raise TargetError(
            f"stack {stack_name} is not deployed on this target "
            f"({details.get('Message', error)}); deploy it first"
        ) from error


def local_target(env_name: str = "local") -> Target:
    """The local cloud started by ``make demo`` or ``python -m localcloud start``."""
    from localcloud.server import find

    cloud = find()
    if cloud is None:
        raise TargetError(
            "no local cloud is running: start one with `python -m localcloud start` "
            "(or run `make demo`), then deploy with `python -m cli deploy`"
        )
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=cloud.region,
    )
    return Target(env_name, session, cloud.endpoint_url)


def aws_target(env_name: str, profile: str | None, region: str | None) -> Target:
    """A real AWS account, through a named profile or the default credential chain."""
    return Target(env_name, boto3.Session(profile_name=profile, region_name=region))
