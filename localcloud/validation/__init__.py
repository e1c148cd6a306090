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

Other packages add checks of their own that run between those two (``add_gate``): a gate
answers with a ``Refusal``, or raises ``Unreachable`` when the caller could not have reached
the service at all, and the connection is then closed without an answer, as a connection
that fails does (``localcloud.sagemaker.vpc_access``: a job in a VPC without the endpoint).

``set_enabled(False)`` exists for ``benchmarks/validation_overhead.py`` only, to measure the
cost against the same server without the check.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app
from flask import request as flask_request
from moto.core.request import normalize_request
from moto.core.utils import convert_to_flask_response

from localcloud.patching import Patches
from localcloud.validation.checks import CHECKED, MOTO_NAMES, refusal
from localcloud.validation.responses import Refusal, render
from localcloud.validation.wire import Call, read

__all__ = ["Gate", "Unreachable", "add_gate", "install", "set_enabled", "uninstall"]

LOG = logging.getLogger(__name__)
PATCHES = Patches()
_enabled = {"on": True}
# A check of a request that passed the model: (call, headers, query args) -> refusal or None.
Gate = Callable[[Call, Mapping[str, str], Mapping[str, str]], Refusal | None]
_gates: list[Gate] = []


class Unreachable(Exception):
    """The caller could not have reached the service: its connection is closed unanswered."""


def add_gate(gate: Gate) -> None:
    """Runs ``gate`` on every request that passes the model check, before IAM (idempotent)."""
    if gate not in _gates:
        _gates.append(gate)


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
    for gate in _gates if why is None and call is not None else []:
        try:
            why = gate(call, flask_request.headers, flask_request.args)
        except Unreachable:
            raise
        except Exception as error:  # a check that cannot decide must not let the request by
            LOG.exception("%s request not checked by %s: the check itself failed", service, gate)
            why = _check_failed(gate.__module__, error)
        if why is not None:
            break
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
    except Exception as error:  # a check that cannot decide must not let the request by
        LOG.exception("%s request not checked against IAM: the check itself failed", service)
        return _check_failed("localcloud.iam", error)


def _check_failed(check: str, error: Exception) -> Refusal:
    """AWS's answer to a request it could not process (500 InternalFailure), naming the check
    that failed: a stricter local cloud fails loudly rather than letting the request by."""
    return Refusal(
        "InternalFailure",
        f"the local cloud's {check} check failed on this request ({type(error).__name__}: "
        f"{error}); see the local cloud's log",
        status=500,
    )


def _checked_call(self: convert_to_flask_response, args: Any = None, **kwargs: Any) -> Any:
    if _enabled["on"]:
        try:
            refused = _refused()
        except Unreachable as why:
            return _dropped(str(why))
        if refused is not None:
            status, headers, body = refused
            return Response(response=body, status=status, headers=headers)
    return PATCHES.original(convert_to_flask_response, "__call__")(self, args, **kwargs)


def _dropped(why: str) -> Response:
    """Closes the request's connection: the client sees it fail, with no answer."""
    LOG.info("connection closed unanswered: %s", why)
    connection = flask_request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # already closed by the client
            connection.shutdown(socket.SHUT_RDWR)
    return Response(status=503)  # not delivered: the connection is gone


def install() -> Patches:
    """Check every request before moto handles it (idempotent); :func:`uninstall` undoes it."""
    if not PATCHES.applied:
        PATCHES.set(convert_to_flask_response, "__call__", _checked_call)
    from localcloud import iam

    iam.install()
    return PATCHES


def uninstall() -> None:
    """Lets every request reach moto unchecked, as moto alone does."""
    from localcloud import iam

    iam.uninstall()
    PATCHES.restore()
