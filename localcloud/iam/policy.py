"""Whether a principal may do an action on a resource, from identity and resource policies.

The order is AWS's (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
"Determining whether a request is allowed or denied within an account"): an explicit Deny in
any applicable policy wins; otherwise an Allow in an identity-based policy or in a resource-based
policy that names the principal itself allows; otherwise the request is implicitly denied. A
resource policy that names the account (``arn:aws:iam::<account>:root``) delegates to the
account's identity policies and grants nothing by itself. A KMS key is the exception: its key
policy must allow, either the principal directly or the account (which lets identity policies
count) (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from localcloud.iam.conditions import Context, like, satisfied

LOG = logging.getLogger(__name__)


class Decision(enum.Enum):
    ALLOWED = "allowed"
    IDENTITY_DENY = "with an explicit deny in an identity-based policy"
    RESOURCE_DENY = "with an explicit deny in a resource-based policy"
    NO_IDENTITY_ALLOW = "because no identity-based policy allows the {action} action"
    NO_RESOURCE_ALLOW = "because no resource-based policy allows the {action} action"

    def reason(self, action: str) -> str:
        return self.value.format(action=action)


@dataclass(frozen=True)
class Principal:
    """An assumed-role session: its role, its session ARN and its account."""

    role_arn: str
    session_arn: str
    account: str

    @property
    def root(self) -> str:
        return f"arn:aws:iam::{self.account}:root"


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource-based policy; ``required``: the resource's own policy must allow (KMS)."""

    document: Mapping[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Request:
    """One action on one resource, with the request's condition context."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


def parse(document: str | bytes | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A policy document as a mapping (moto stores JSON text; an empty one is ``{}``)."""
    if document is None:
        return {}
    if isinstance(document, Mapping):
        return document
    text = document.decode() if isinstance(document, bytes) else document
    return json.loads(text) if text.strip() else {}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _list(document.get("Statement"))


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    # Action names are case-insensitive (IAM User Guide, "IAM JSON policy elements: Action").
    if "NotAction" in statement:
        return not any(like(a.lower(), action.lower()) for a in _list(statement["NotAction"]))
    return any(like(a.lower(), action.lower()) for a in _list(statement.get("Action")))


def _matches_resource(statement: Mapping[str, Any], resource: str, default: bool) -> bool:
    if "NotResource" in statement:
        return not any(like(r, resource) for r in _list(statement["NotResource"]))
    if "Resource" not in statement:
        return default  # a resource policy without Resource is about its own resource
    return any(like(r, resource) for r in _list(statement["Resource"]))


def _principals(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key)
    if value == "*":
        return ["*"]
    if isinstance(value, Mapping):
        return [str(p) for p in _list(value.get("AWS"))]
    return []


def _names(statement: Mapping[str, Any], principal: Principal) -> str | None:
    """``direct`` when the statement names this principal, ``account`` for its account."""

    def kind(names: list[str]) -> str | None:
        if any(n in ("*", principal.role_arn, principal.session_arn) for n in names):
            return "direct"
        if any(n in (principal.root, principal.account) for n in names):
            return "account"
        return None

    if "NotPrincipal" in statement:
        return None if kind(_principals(statement, "NotPrincipal")) else "direct"
    return kind(_principals(statement, "Principal"))


def _applies(statement: Mapping[str, Any], request: Request, resource_default: bool) -> bool:
    return (
        _matches_action(statement, request.action)
        and _matches_resource(statement, request.resource, resource_default)
        and satisfied(statement.get("Condition"), request.context)
    )


def evaluate(
    request: Request,
    principal: Principal,
    identity: Sequence[Mapping[str, Any]],
    resources: Iterable[ResourcePolicy] = (),
) -> Decision:
    """AWS's decision for ``principal`` doing ``request`` under these policies."""
    identity_allows = False
    for document in identity:
        for statement in _statements(document):
            if not _applies(statement, request, resource_default=False):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.IDENTITY_DENY
            identity_allows = True
    resource_allows = False
    delegated = False
    required = False
    for policy in resources:
        required = required or policy.required
        for statement in _statements(policy.document):
            named = _names(statement, principal)
            if named is None or not _applies(statement, request, resource_default=True):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.RESOURCE_DENY
            if named == "direct":
                resource_allows = True
            else:
                delegated = True
    if resource_allows:
        return Decision.ALLOWED
    if required:
        if delegated and identity_allows:
            return Decision.ALLOWED
        return Decision.NO_RESOURCE_ALLOW if not delegated else Decision.NO_IDENTITY_ALLOW
    return Decision.ALLOWED if identity_allows else Decision.NO_IDENTITY_ALLOW
