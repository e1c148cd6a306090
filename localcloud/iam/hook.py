"""The IAM check of a request made with a role session's keys, at the request check's hook.

``localcloud.validation`` reads every request into its operation and parameters; a request
that passes its model is handed to :func:`refusal`. The caller is the access key of the SigV4
``Authorization`` header (or a presigned URL's ``X-Amz-Credential``); a key of an assumed-role
session in moto's STS is evaluated against the role's policies as deployed (inline and
attached managed policies) and the resource's policy (S3 bucket policy, KMS key policy), with
``localcloud.iam.policy``. Any other key (the deployer's ``testing`` keys, an IAM user's) is an
account administrator's and is not evaluated. The sessions of the CDK bootstrap roles, which
the CDK CLI assumes to deploy, are evaluated like any other.

A denied request is answered as AWS answers it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html, the message
"User: <session ARN> is not authorized to perform: <action> on resource: <ARN> because ..."):
JSON services 400 ``AccessDeniedException``; REST-JSON services (Lambda, SageMaker Runtime)
403 ``AccessDeniedException``; query services 403 ``AccessDenied`` (SNS: ``AuthorizationError``,
its own code); S3 403 ``AccessDenied``.

Request-context stand-ins: ``aws:SecureTransport`` is true (the local cloud's plain HTTP
stands for AWS's TLS endpoints, which the bucket policies' deny on insecure transport is
about); ``aws:PrincipalArn`` is the role's ARN; ``aws:PrincipalAccount`` its account;
``aws:ResourceAccount`` (and S3's ``s3:ResourceAccount``) the account in the resource's ARN, or
the local cloud's one account for ARNs without one (S3's): the bootstrap roles' policies
condition their grants on it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from typing import Any

from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.kms.utils import _deserialize_ciphertext_blob
from moto.s3.models import s3_backends
from moto.sts.models import sts_backends

from localcloud.iam import credentials, managed_policies, policy
from localcloud.iam.requests import Needed, needed
from localcloud.validation.responses import Refusal
from localcloud.validation.wire import Call

LOG = logging.getLogger(__name__)
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/")
_CODES = {"sns": "AuthorizationError"}


def caller(headers: Mapping[str, str], args: Mapping[str, str]) -> tuple[str, str] | None:
    """The access key and region of the request's signature."""
    found = _CREDENTIAL.search(headers.get("Authorization", ""))
    if found:
        return found.group(1), found.group(2)
    presigned = args.get("X-Amz-Credential")
    if presigned:
        parts = presigned.split("/")
        return parts[0], parts[2] if len(parts) > 2 else "us-east-1"
    return None


def _session(access_key: str) -> Any | None:
    """moto's assumed-role session with this key, if there is one."""
    if not access_key.startswith("ASIA"):
        return None
    for account in list(sts_backends.keys()):
        backend = sts_backends[account]["aws"]
        found = backend.get_assumed_role_from_access_key(access_key)
        if found is not None:
            return found
    return None


def _identity(account: str, role_name: str) -> list[Mapping[str, Any]]:
    role = iam_backends[account]["aws"].get_role(role_name)
    documents = [policy.parse(text) for text in role.policies.values()]
    documents += [policy.parse(d) for d in managed_policies.documents(role, account)]
    for managed in role.managed_policies.values():
        default = next((v for v in managed.versions if v.is_default), None)
        if default is not None:
            documents.append(policy.parse(default.document))
    return documents


def _bucket_policy(account: str, bucket: str) -> list[policy.ResourcePolicy]:
    found = s3_backends[account]["aws"].buckets.get(bucket)
    if found is None or not found.policy:
        return []
    return [policy.ResourcePolicy(policy.parse(found.policy))]


def _key(account: str, region: str, call: Call, key_id: str | None) -> Any | None:
    backend = kms_backends[account][region]
    if not key_id and call.params.get("CiphertextBlob"):
        blob = base64.b64decode(call.params["CiphertextBlob"])
        key_id = _deserialize_ciphertext_blob(blob).key_id
    if not key_id:
        return None
    try:
        return backend.keys[backend.any_id_to_key_id(key_id)]
    except (KeyError, TypeError, AttributeError):
        return None  # KMS answers NotFoundException itself


def refusal(call: Call, headers: Mapping[str, str], args: Mapping[str, str]) -> Refusal | None:
    """Why AWS would deny ``call`` to the role session that signed it, or None."""
    if not credentials.enforced():
        return None
    signer = caller(headers, args)
    session = _session(signer[0]) if signer else None
    if session is None:
        return None
    role_arn: str = session.role_arn
    account = role_arn.split(":")[4]
    region = signer[1] if signer else "us-east-1"
    denied = _denial(role_arn, session.session_name, region, needed(call, account, region), call)
    return shaped(call, denied[1]) if denied else None


def denial(
    role_arn: str, session_name: str, region: str, needs: list[Needed]
) -> tuple[Needed, str] | None:
    """The first of ``needs`` the role's session may not do, with AWS's AccessDenied message.

    For permissions a service needs on the role's behalf beyond the request it forwards
    (Step Functions' integrations); None when enforcement is off, the role does not exist
    (see ``credentials.for_role``) or every one is allowed.
    """
    if not credentials.enforced():
        return None
    try:
        iam_backends[role_arn.split(":")[4]]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return None
    return _denial(role_arn, session_name, region, needs, None)


def _denial(
    role_arn: str, session_name: str, region: str, needs: list[Needed], call: Call | None
) -> tuple[Needed, str] | None:
    account = role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    principal = policy.Principal(
        role_arn=role_arn,
        session_arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
        account=account,
    )
    identity = _identity(account, role_name)
    base_context = {
        "aws:principalarn": [role_arn],
        "aws:principalaccount": [account],
        "aws:securetransport": ["true"],
        "aws:requestedregion": [region],
    }
    for need in needs:
        resource, resources = _resource(need, call, account, region)
        context = {**base_context, **_resource_account(need.action, resource, account)}
        request = policy.Request(need.action, resource, {**context, **need.context})
        decision = policy.evaluate(request, principal, identity, resources)
        if decision is not policy.Decision.ALLOWED:
            message = (
                f"User: {principal.session_arn} is not authorized to perform: {need.action} "
                f"on resource: {resource} {decision.reason(need.action)}"
            )
            LOG.info("IAM denied %s", message)
            return need, message
    return None


def _resource_account(action: str, resource: str, account: str) -> dict[str, list[str]]:
    parts = resource.split(":")
    owner = parts[4] if len(parts) > 5 and parts[4] else account
    context = {"aws:resourceaccount": [owner]}
    if action.startswith("s3:"):
        context["s3:resourceaccount"] = [owner]
    return context


def _resource(
    need: Needed, call: Call | None, account: str, region: str
) -> tuple[str, list[policy.ResourcePolicy]]:
    if need.bucket is not None:
        return need.resource, _bucket_policy(account, need.bucket)
    if need.action.startswith("kms:") and call is not None:
        key = _key(account, region, call, need.key_id)
        if key is not None:
            return key.arn, [policy.ResourcePolicy(policy.parse(key.policy), required=True)]
    return need.resource, []


def shaped(call: Call, message: str) -> Refusal:
    """An access denial of ``call`` in its protocol's shape (see the module's docstring)."""
    if call.protocol == "json":
        return Refusal("AccessDeniedException", message, 400)
    if call.protocol == "rest-json":
        return Refusal("AccessDeniedException", message, 403)
    if call.protocol == "query":
        return Refusal(_CODES.get(call.service, "AccessDenied"), message, 403)
    return Refusal("AccessDenied", message, 403)
