"""A value checked against a botocore shape, member by member, with every constraint it has.

``check(params, operation.input_shape)`` walks the parameters of a request (or the static
Parameters of a state machine task) and returns every ``Violation``: missing required members,
unknown members (where ``Rules`` asks), wrong types, and the constraints in ``shapes``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from localcloud.validation.shapes import (
    SCALARS,
    bounds,
    constraints_of,
    scalar_failures,
    type_error,
)
from localcloud.validation.violations import Violation, summary

__all__ = ["Rules", "Violation", "check", "summary"]
_ITEM_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Rules:
    """How a value is checked.

    Attributes:
        unknown_members: members the shape does not have are violations (Step Functions refuses
            them; on the wire no SDK sends one, so they are ignored there as a service would).
        paths_allowed: a ``Name.$`` member holds a path or intrinsic evaluated later: it counts
            as present and its value is not checked (a state machine definition).
        any_json: API paths (list items as ``*``) that take any JSON value, where Step Functions
            serialises an object for the API (``Payload``, ``Message``, ``Entries.*.Detail``).
    """

    unknown_members: bool = False
    paths_allowed: bool = False
    any_json: frozenset[str] = frozenset()


def check(value: Any, shape: Shape, rules: Rules = Rules()) -> list[Violation]:
    """Every violation of ``shape`` by ``value`` (a request's parameters and its input shape)."""
    found: list[Violation] = []
    _Walker(rules, found.append).walk(value, shape, "", "")
    return found


def _free_form(shape: Shape) -> bool:
    """A document, or a JSON value sent in a header: any JSON, as botocore checks it."""
    if shape.type_name == "structure" and shape.is_document_type:
        return True
    return bool(shape.serialization.get("jsonvalue"))


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class _Walker:
    def __init__(self, rules: Rules, report: Callable[[Violation], None]) -> None:
        self.rules = rules
        self.report = report

    def walk(self, value: Any, shape: Shape, api: str, aws: str) -> None:
        if self._any_json(api) or _free_form(shape):
            return
        problem = type_error(value, shape)
        if problem is not None:
            self.report(Violation("type", api or "input", aws, value, problem))
            return
        getattr(self, f"_{shape.type_name}", self._scalar)(value, shape, api, aws)

    def _any_json(self, api: str) -> bool:
        return bool(self.rules.any_json) and _ITEM_INDEX.sub(".*", api) in self.rules.any_json

    def _scalar(self, value: Any, shape: Shape, api: str, aws: str) -> None:
        sensitive = bool(shape.metadata.get("sensitive"))
        for failure in scalar_failures(value, shape):
            self.report(Violation("constraint", api, aws, value, failure, sensitive))

    def _structure(self, value: dict, shape: Shape, api: str, aws: str) -> None:
        members = shape.members
        present = set()
        for key, item in value.items():
            name = key.removesuffix(".$") if self.rules.paths_allowed else key
            if name not in members:
                if self.rules.unknown_members:
                    where = _join(aws, _camel(key))
                    self.report(Violation("unknown", _join(api, key), where, item, ""))
            elif item is not None:
                present.add(name)
                if name == key:
                    self.walk(item, members[name], _join(api, name), _join(aws, _camel(name)))
        for name in shape.required_members:
            if name not in present:
                where = _join(aws, _camel(name))
                self.report(Violation("missing", _join(api, name), where, None, _NOT_NULL))

    def _list(self, value: list, shape: Shape, api: str, aws: str) -> None:
        self._count(value, shape, api, aws)
        if shape.member.type_name in SCALARS:
            self._items(dict(enumerate(value)), shape.member, api, aws, _LIST_ITEMS, value)
            return
        for index, item in enumerate(value):
            if item is not None:
                self.walk(item, shape.member, f"{api}[{index}]", f"{aws}.{index + 1}.member")

    def _map(self, value: dict, shape: Shape, api: str, aws: str) -> None:
        self._count(value, shape, api, aws)
        static = value
        if self.rules.paths_allowed:  # "KEY.$": the key is KEY, its value a path
            static = {key: item for key, item in value.items() if not key.endswith(".$")}
            value = {key.removesuffix(".$"): item for key, item in value.items()}
        self._items({key: key for key in value}, shape.key, api, aws, _MAP_KEYS, value)
        if shape.value.type_name in SCALARS:
            self._items(static, shape.value, api, aws, _MAP_VALUES, value)
            return
        for key, item in static.items():
            if item is not None:
                self.walk(item, shape.value, f"{api}.{key}", f"{aws}.{key}")

    def _count(self, value: Any, shape: Shape, api: str, aws: str) -> None:
        for failure in bounds(len(value), shape, "length"):
            self.report(Violation("constraint", api, aws, value, failure))

    def _items(self, items: dict, member: Shape, api: str, aws: str, what: str, shown: Any) -> None:
        """Scalar items: one violation at the collection ``shown``, naming every constraint."""
        broken = False
        for key, item in items.items():
            if item is None:
                continue
            problem = type_error(item, member)
            if problem is not None:
                where = f"{api}[{key}]" if isinstance(key, int) else f"{api}.{key}"
                self.report(Violation("type", where, aws, item, problem))
            elif scalar_failures(item, member):
                broken = True
        if broken:
            listed = ", ".join(constraints_of(member))
            sensitive = bool(member.metadata.get("sensitive"))
            self.report(Violation("constraint", api, aws, shown, f"{what}: [{listed}]", sensitive))


_NOT_NULL = "Member must not be null"
_LIST_ITEMS = "Member must satisfy constraint"
_MAP_KEYS = "Map keys must satisfy constraint"
_MAP_VALUES = "Map value must satisfy constraint"
