"""Reversible monkey-patching: every replaced attribute can be put back."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patches:
    """Records each attribute it replaces so :meth:`restore` can undo them all."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    @property
    def applied(self) -> bool:
        return bool(self._saved)

    def set(self, owner: Any, name: str, value: Any) -> Any:
        """Sets ``owner.name = value``; returns what ``owner.name`` was before."""
        before = getattr(owner, name, None)
        self._saved.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)
        return before

    def restore(self) -> None:
        """Puts back every replaced attribute, newest first."""
        for owner, name, value in reversed(self._saved):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._saved.clear()
