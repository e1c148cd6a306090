"""What one pre-flight check found: a status, what was checked, what was seen, and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

Status = Literal["ok", "problem", "cannot tell", "not emulated", "skipped"]
# The order of the summary; only a problem fails the command.
STATUSES: tuple[Status, ...] = ("problem", "cannot tell", "ok", "not emulated", "skipped")
# AWS error codes that mean "this caller may not look", not "it is missing".
_DENIALS = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "403",
    "Forbidden",
}


@dataclass(frozen=True)
class Finding:
    """One line of the report.

    Attributes:
        check: the kind of check (``account``, ``bootstrap``, ``image``, ``quota``, ``bucket``,
            ``model``, ``input``).
        status: ``problem`` fails the command; ``cannot tell`` is a denial or an answer that
            does not say; ``not emulated`` is a check the local cloud has no data for.
        subject: what was checked.
        detail: what was seen.
        fix: what to do, for a problem (and for some ``cannot tell``).
    """

    check: str
    status: Status
    subject: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        """``PROBLEM      quota     <subject>: <detail>; fix: <fix>``."""
        status = "PROBLEM" if self.status == "problem" else self.status
        text = f"{status:<12} {self.check:<9} {self.subject}: {self.detail}"
        return f"{text}; fix: {self.fix}" if self.fix else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(check: str, subject: str, detail: str) -> Finding:
    """A check that passed."""
    return Finding(check, "ok", subject, detail)


def problem(check: str, subject: str, detail: str, fix: str) -> Finding:
    """Something the first deploy or run would fail on, with what to do about it."""
    return Finding(check, "problem", subject, detail, fix)


def cannot_tell(check: str, subject: str, detail: str, fix: str | None = None) -> Finding:
    """A check AWS would not answer for this caller, or answered without saying."""
    return Finding(check, "cannot tell", subject, detail, fix)


def error_code(error: ClientError) -> str:
    """The AWS error code of ``error`` (``ParameterNotFound``, ``403``...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def denied(error: ClientError) -> bool:
    """Whether AWS refused to answer (the caller's permissions), rather than answering no."""
    return error_code(error) in _DENIALS


def denial(error: ClientError) -> str:
    """``ssm:GetParameter was denied (AccessDeniedException)``-style words for a denial."""
    return f"{error.operation_name} was denied ({error_code(error)})"
