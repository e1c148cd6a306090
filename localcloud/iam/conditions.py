"""IAM policy condition operators, as the IAM User Guide defines them.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and ..._condition-single-vs-multi-valued-context-keys.html. Implemented: ``String*`` (Equals,
NotEquals, EqualsIgnoreCase, NotEqualsIgnoreCase, Like, NotLike), ``Arn*`` (Equals, NotEquals,
Like, NotLike), ``Bool``, ``Null``, ``Numeric*``, the ``IfExists`` suffix and the
``ForAnyValue:``/``ForAllValues:`` prefixes. Rules that matter:

- Keys in a block, and operators in a Condition, are ANDed; values of one key are ORed.
- A missing key makes the condition false, except for a negated operator (``StringNotEquals``,
  ``ArnNotLike``...), which is true, for ``...IfExists`` (true) and for ``ForAllValues:``
  (true: "if the key is not present ... evaluates to true").
- Context-key names are case-insensitive; values of String operators are case-sensitive.
- An operator this module does not know makes the condition false: the statement does not
  apply (an Allow never grants by it; a Deny never denies by it) and it is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

LOG = logging.getLogger(__name__)
Context = Mapping[str, list[str]]  # lower-cased key -> values (single-valued keys: one value)


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character; the rest literal (IAM's wildcards)."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.DOTALL,
    )


def like(pattern: str, value: str) -> bool:
    """IAM's case-sensitive wildcard match, as ``StringLike`` and Resource/Action matching do."""
    return _wildcard(pattern).fullmatch(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike compares the six colon-delimited parts one by one, each with wildcards.
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(like(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(expected: str, actual: str) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and compare(a, e)

    return match


# operator -> (match one policy value against one request value, negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "stringequals": (lambda e, a: e == a, False),
    "stringnotequals": (lambda e, a: e == a, True),
    "stringequalsignorecase": (lambda e, a: e.lower() == a.lower(), False),
    "stringnotequalsignorecase": (lambda e, a: e.lower() == a.lower(), True),
    "stringlike": (like, False),
    "stringnotlike": (like, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (lambda e, a: e.lower() == a.lower(), False),
    "numericequals": (_numeric(lambda a, e: a == e), False),
    "numericnotequals": (_numeric(lambda a, e: a == e), True),
    "numericlessthan": (_numeric(lambda a, e: a < e), False),
    "numericlessthanequals": (_numeric(lambda a, e: a <= e), False),
    "numericgreaterthan": (_numeric(lambda a, e: a > e), False),
    "numericgreaterthanequals": (_numeric(lambda a, e: a >= e), False),
}


def _as_list(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _one_key(operator: str, key: str, expected: list[str], context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    qualifier = qualifier.lower()
    name = name.lower()
    if_exists = name.endswith("ifexists")
    name = name.removesuffix("ifexists")
    actual = context.get(key.lower())
    if name == "null":
        return (actual is None) == (expected[0].lower() == "true")
    if name not in _OPERATORS:
        LOG.warning(
            "IAM condition operator %s is not supported: the statement does not apply", operator
        )
        return False
    match, negated = _OPERATORS[name]
    if actual is None:
        return if_exists or negated or qualifier == "forallvalues"
    if qualifier == "forallvalues":
        return all(_any(match, negated, expected, value) for value in actual)
    # ForAnyValue, and a single-valued key (one value): any request value satisfies it.
    return any(_any(match, negated, expected, value) for value in actual)


def _any(match: Callable[[str, str], bool], negated: bool, expected: list[str], value: str) -> bool:
    hit = any(match(e, value) for e in expected)
    return not hit if negated else hit


def satisfied(condition: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    """Whether a statement's ``Condition`` block holds for the request's ``context``."""
    for operator, keys in (condition or {}).items():
        for key, expected in keys.items():
            if not _one_key(operator, key, _as_list(expected), context):
                return False
    return True


__all__ = ["Context", "like", "satisfied"]
