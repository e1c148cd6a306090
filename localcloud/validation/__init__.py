"""Every request to the local cloud checked against botocore's model of its API, as AWS does.

``install()`` puts the check in front of moto's handlers (``convert_to_flask_response``, the
view every moto service answers through, in the server and in ``ThreadedMotoServer`` alike).
A request to a service in ``checks.CHECKED`` is read into its operation and parameters
(``wire``), checked against the operation's input shape with every constraint the model has
(``constraints``: required members, types, enums, lengths, counts, ranges, patterns), and a
request AWS would refuse is answered with AWS's error in the protocol's shape (``responses``);
moto never sees it. ``definitions`` applies the same check to the static Parameters of a state
machine's service tasks (used when a state machine is created, and by the infra tests). A
request that passes is then checked against IAM when a role session signed it
(``localcloud.iam.hook``).

``set_enabled(False)`` exists for ``benchmarks/validation_overhead.py`` only, to measure the
cost against the same server without the check.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app
from flask import request as flask_request
from moto.core.request import normalize_request
from moto.core.utils import convert_to_flask_response

from localcloud.validation.checks import CHECKED, MOTO_NAMES, refusal
from localcloud.validation.responses import render
from localcloud.validation.wire import read

__all__ = ["install", "set_enabled"]

LOG = logging.getLogger(__name__)
_original_call = convert_to_flask_response.__call__
_enabled = {"on": True}


def set_enabled(on: bool) -> None:
    """Turns the check on or off in this process (for the overhead benchmark only)."""
    _enabled["on"] = on


def _refused() -> tuple[int, dict[str, str], bytes] | None:
    service = getattr(current_app, "service", "")
    service = MOTO_NAMES.get(service, service)
    if service not in CHECKED:
        return None
    try:
        call = read(service, normalize_request(flask_request))
        why = refusal(call) if call is not None else None
    except Exception:  # a bug here must not take the request down with it
        LOG.exception("%s request not validated: the check itself failed", service)
        return None
    if why is None and call is not None:
        why = _iam_refusal(service, call)
    if why is None or call is None:
        return None
    LOG.info("refused %s %s: %s %s", service, call.operation.name, why.code, why.message[:500])
    return render(call, why)


def _iam_refusal(service: str, call: Any) -> Any:
    from localcloud.iam import hook  # imports this package's modules: loaded on first use

    try:
        return hook.refusal(call, flask_request.headers, flask_request.args)
    except Exception:  # a bug here must not take the request down with it
        LOG.exception("%s request not checked against IAM: the check itself failed", service)
        return None


def _checked_call(self: convert_to_flask_response, args: Any = None, **kwargs: Any) -> Any:
    if _enabled["on"]:
        refused = _refused()
        if refused is not None:
            status, headers, body = refused
            return Response(response=body, status=status, headers=headers)
    return _original_call(self, args, **kwargs)


def install() -> None:
    """Check every request before moto handles it (idempotent)."""
    convert_to_flask_response.__call__ = _checked_call  # type: ignore[method-assign]
    from localcloud import iam

    iam.install()
