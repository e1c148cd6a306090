"""Credentials of a role, as the local cloud uses them when it acts for that role.

AWS's services act for a role with the role's temporary credentials: SageMaker with a job's
``RoleArn`` (or a model's ``ExecutionRoleArn``) for its own S3 staging and inside the job's
container, Step Functions with the state machine's ``RoleArn``, Lambda with the function's
role. Here the credentials come from moto's STS (``AssumeRole``, made in process), whose
access keys the request check (``localcloud.iam.hook``) recognises as that role's session.

moto's AssumeRole does not read the role's trust policy ("the role does not need to exist"):
this module does, as AWS does, and refuses a service the trust policy does not name
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-service.html).
A role that does not exist at all (tests that create jobs with a made-up ARN) gets the local
cloud's own, unrestricted keys and one warning: AWS would refuse the request that names it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import cache

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from localcloud.iam import policy

LOG = logging.getLogger(__name__)
SWITCH = "LOCALCLOUD_IAM"
SAGEMAKER = "sagemaker.amazonaws.com"
STATES = "states.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
# The local cloud's own keys (the deployer's, an account administrator's): never evaluated.
ADMIN_KEY = "testing"
# moto does not expire sessions; this is the longest a role session may last (12 h).
_DURATION_S = 43200
_lock = threading.Lock()
_sessions: dict[tuple[str, str], Keys] = {}


@dataclass(frozen=True)
class Keys:
    """An access key, its secret and its session token (None for the admin keys)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def env(self) -> dict[str, str]:
        """The ``AWS_*`` variables a process presents these keys with."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def client_kwargs(self) -> dict[str, str | None]:
        """The keyword arguments ``boto3.client`` takes these keys as."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


ADMIN = Keys(ADMIN_KEY, ADMIN_KEY)


class UntrustedRole(RuntimeError):
    """The role's trust policy does not let the service assume it."""


def enforced() -> bool:
    """``LOCALCLOUD_IAM`` is ``enforce`` (the default) rather than ``off``."""
    return os.environ.get(SWITCH, "enforce").strip().lower() != "off"


def _account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _trusts(trust_document: str, service: str) -> bool:
    for statement in policy.parse(trust_document).get("Statement", []):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = services if isinstance(services, list) else [services]
        if (
            statement.get("Effect") == "Allow"
            and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)
            and service in services
        ):
            return True
    return False


def for_role(role_arn: str | None, service: str, session: str, *, fresh: bool = False) -> Keys:
    """The credentials ``service`` (``sagemaker.amazonaws.com``...) uses to act for the role.

    ``fresh``: new keys of their own rather than the ones shared by every caller of this
    role and session name, so their requests can be told apart (a job's code from SageMaker's
    staging for the same job); the session ARN is the same.

    Raises:
        UntrustedRole: the role exists and its trust policy does not name ``service``.
    """
    if not role_arn or not enforced():
        return ADMIN
    account = _account(role_arn)
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        _missing_once(role_arn)
        return ADMIN
    if not _trusts(role.assume_role_policy_document, service):
        raise UntrustedRole(
            f"{service} cannot assume {role_arn}: its trust policy does not allow "
            f"sts:AssumeRole for the service principal {service}"
        )
    with _lock:
        cached = None if fresh else _sessions.get((role_arn, session))
        if cached is None:
            assumed = sts_backends[account]["aws"].assume_role(
                region_name="us-east-1",
                role_session_name=session,
                role_arn=role_arn,
                policy="",
                duration=_DURATION_S,
                external_id="",
            )
            cached = Keys(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)
            if not fresh:
                _sessions[(role_arn, session)] = cached
    return cached


@cache
def _missing_once(role_arn: str) -> None:
    LOG.warning(
        "IAM: role %s does not exist in the local cloud; its work runs with the local cloud's "
        "own credentials, unevaluated (AWS would refuse the request that names it)",
        role_arn,
    )
