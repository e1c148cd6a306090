"""The one way the local cloud patches moto: every replaced attribute can be put back.

Each service module keeps one :class:`Patches`; its ``install()`` sets every replacement through
it (and returns it), its replacements reach the code they wrap with :meth:`Patches.original`,
and its ``uninstall()`` calls :meth:`Patches.restore`. Tests that share a process with a patched
moto can so give moto back exactly as it was.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_MISSING = object()


class Patches:
    """Records each attribute it replaces so :meth:`restore` can undo them all."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any, bool]] = []
        self._originals: dict[tuple[int, str], Any] = {}

    @property
    def applied(self) -> bool:
        """Whether any replacement is in place."""
        return bool(self._saved)

    @property
    def targets(self) -> list[tuple[Any, str]]:
        """Every ``(owner, name)`` replaced, in the order they were set."""
        return [(owner, name) for owner, name, _, item in self._saved if not item]

    def set(self, owner: Any, name: str, value: Any) -> Any:
        """Sets ``owner.name = value``; returns what ``owner.name`` was before."""
        before = getattr(owner, name, None)
        self._originals.setdefault((id(owner), name), before)
        self._saved.append((owner, name, vars(owner).get(name, _MISSING), False))
        setattr(owner, name, value)
        return before

    def set_item(self, mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
        """Sets ``mapping[key] = value`` (a setting moto keeps in a dict), undone with the rest."""
        self._saved.append((mapping, key, mapping.get(key, _MISSING), True))
        mapping[key] = value

    def original(self, owner: Any, name: str) -> Any:
        """What ``owner.name`` gave before this object first replaced it.

        A classmethod comes back bound to ``owner``: call its ``__func__`` with the class at hand.

        Raises:
            KeyError: This object never replaced ``owner.name``.
        """
        return self._originals[(id(owner), name)]

    def restore(self) -> None:
        """Puts back every replaced attribute, newest first."""
        for owner, name, value, item in reversed(self._saved):
            if item and value is _MISSING:
                del owner[name]
            elif item:
                owner[name] = value
            elif value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._saved.clear()
        self._originals.clear()
