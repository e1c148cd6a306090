"""A broken constraint, told in the words AWS's services use.

``Value 'x' at 'appSpecification.containerEntrypoint' failed to satisfy constraint: ...``:
members in camelCase, a list of structures as ``tags.1.member.key``, a list (or map) of scalars
at the list itself with ``Member must satisfy constraint: [...]`` (``Map value ...``, ``Map keys
...``) naming every constraint of its items, values printed as Java prints them (``[a, b]``,
``{k=v}``), and ``N validation errors detected: ...; ...`` in front. These are the forms AWS
returns, e.g. IAM's ``1 validation error detected: Value '...' at 'roleName' failed to satisfy
constraint: Member must have length less than or equal to 64``
(https://github.com/NixOS/nixops/issues/328) and Lambda's ``Value '[GET, POST, OPTIONS]' at
'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must
have length less than or equal to 6, ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["constraint", "missing", "unknown", "type"]


@dataclass(frozen=True)
class Violation:
    """One way a value breaks its shape."""

    kind: Kind
    api_path: str  # as the SDKs name it: AppSpecification.ContainerEntrypoint[1]
    aws_path: str  # as the service names it: appSpecification.containerEntrypoint
    value: Any
    constraint: str
    sensitive: bool = False

    def describe(self, api_names: bool = False) -> str:
        """The violation in AWS's words; ``api_names``: the member as the SDKs name it."""
        path = self.api_path if api_names else self.aws_path
        if self.kind == "unknown":
            return f'Unknown parameter "{self.api_path}"'
        if self.kind == "type":
            value = render(self.value)
            return f"Invalid type for parameter {self.api_path}, value: {value}, {self.constraint}"
        if self.kind == "missing":
            return f"Value null at '{path}' failed to satisfy constraint: {self.constraint}"
        value = "" if self.sensitive else f" '{render(self.value)}'"
        return f"Value{value} at '{path}' failed to satisfy constraint: {self.constraint}"


def summary(violations: list[Violation]) -> str:
    """``1 validation error detected: ...`` / ``N validation errors detected: ...; ...``."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(v.describe() for v in violations)


def render(value: Any) -> str:
    """Java's ``toString`` of the value, as AWS's messages print it."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={render(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, bytes | bytearray):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    return str(value)
