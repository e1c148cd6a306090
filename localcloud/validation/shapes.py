"""What one botocore shape allows: its type, and the constraints of a scalar or a collection.

botocore's ``ParamValidator`` checks what an SDK checks before sending (required and unknown
members, types, minimums). A service also checks maximum lengths and counts, numeric ranges,
enum values and patterns; these are all here, in the order AWS lists them
(``max``, ``min``, ``pattern``, ``enum``). Patterns are matched against the whole value, as
Java's ``Pattern.matcher(value).matches()`` does on AWS.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.model import Shape

from localcloud.validation.patterns import compiled

SCALARS = frozenset(
    {"string", "integer", "long", "float", "double", "boolean", "blob", "timestamp"}
)
_NUMBERS = frozenset({"integer", "long", "float", "double"})
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (str, bytes, bytearray),  # JSON carries a blob base64-encoded
    "timestamp": (str, int, float),  # ISO 8601 text or epoch seconds
    "structure": (dict,),
    "map": (dict,),
    "list": (list, tuple),
}


def type_error(value: Any, shape: Shape) -> str | None:
    """What is wrong with the type of ``value``, or None."""
    allowed = _TYPES.get(shape.type_name)
    if allowed is None:
        return None
    is_bool = isinstance(value, bool)
    if isinstance(value, allowed) and (shape.type_name == "boolean" or not is_bool):
        return None
    return f"type: {type(value).__name__}, valid types: {shape.type_name}"


def bounds(amount: int | float, shape: Shape, measure: str) -> list[str]:
    """The ``min``/``max`` constraints ``amount`` (a length, count or value) breaks."""
    meta = shape.metadata
    failed = []
    if "max" in meta and amount > meta["max"]:
        failed.append(f"Member must have {measure} less than or equal to {meta['max']}")
    if "min" in meta and amount < meta["min"]:
        failed.append(f"Member must have {measure} greater than or equal to {meta['min']}")
    return failed


def scalar_failures(value: Any, shape: Shape) -> list[str]:
    """The constraints of a scalar shape that ``value`` (of the right type) breaks."""
    if shape.type_name in _NUMBERS:
        return bounds(value, shape, "value")
    if shape.type_name == "blob":
        return bounds(_blob_size(value), shape, "length")
    if shape.type_name != "string":
        return []
    failed = bounds(len(value), shape, "length")
    pattern = compiled(shape.metadata.get("pattern"), shape.name)
    if pattern is not None and pattern.fullmatch(value) is None:
        failed.append(f"Member must satisfy regular expression pattern: {pattern.pattern}")
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        failed.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return failed


def constraints_of(shape: Shape) -> list[str]:
    """Every constraint of a scalar shape, as AWS lists them for the items of a collection."""
    meta = shape.metadata
    measure = "value" if shape.type_name in _NUMBERS else "length"
    listed = []
    if "max" in meta:
        listed.append(f"Member must have {measure} less than or equal to {meta['max']}")
    if "min" in meta:
        listed.append(f"Member must have {measure} greater than or equal to {meta['min']}")
    if meta.get("pattern"):
        listed.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if getattr(shape, "enum", None):
        listed.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return listed


def _blob_size(value: Any) -> int:
    if isinstance(value, str):
        try:  # a blob travels base64-encoded in JSON; its limits count the decoded bytes
            return len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            return len(value)
    return len(value)
