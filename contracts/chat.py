"""Chat messages as training data and endpoint requests both hold them.

Data preparation (``chat_format``) and the endpoint contract (``endpoint_contract``) check each
message here and report a problem in their own error type, naming the same field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

ROLES = ("system", "user", "assistant")


class MessageError(ValueError):
    """A message that is not a chat message; ``field`` is where, ``problem`` what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def checked_message(message: Any, where: str) -> tuple[str, str]:
    """The ``(role, content)`` of ``message``, the message at ``where`` (``messages[0]``).

    Raises:
        MessageError: ``message`` is not an object, its role is not one of ``ROLES`` or its
            content is not a string.
    """
    if not isinstance(message, dict):
        raise MessageError(where, "must be an object with 'role' and 'content'")
    role = message.get("role")
    if role not in ROLES:
        raise MessageError(f"{where}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    content = message.get("content")
    if not isinstance(content, str):
        raise MessageError(f"{where}.content", "must be a string")
    return role, content


def each_message(messages: list[Any]) -> Iterator[tuple[str, str, str]]:
    """``(where, role, content)`` of each message in turn, checked as it is reached.

    Raises:
        MessageError: at the first message that is not a chat message.
    """
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role, content = checked_message(message, where)
        yield where, role, content
