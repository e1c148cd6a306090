"""botocore's ``pattern`` constraints, compiled once with Python's ``re``.

The patterns are Java regular expressions (AWS's services match with Java's
``Pattern.matcher(value).matches()``, the whole value). Most compile unchanged in Python;
those that use Java-only syntax (``\\p{L}`` classes, ``\\uD800`` surrogate ranges, a range
ending in ``\\w``) do not. Such a pattern is logged once and not checked: the gap is counted
by ``uncompilable()`` and pinned per service by tests/localcloud/test_validation.py.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from typing import Final

LOG = logging.getLogger(__name__)

_cache: dict[str, re.Pattern[str] | None] = {}
_failed: dict[str, str] = {}  # pattern -> why it does not compile
_lock: Final = threading.Lock()


def compiled(pattern: str | None, shape_name: str = "") -> re.Pattern[str] | None:
    """The compiled pattern, or None when there is none or it does not compile in Python."""
    if not pattern:
        return None
    try:
        return _cache[pattern]
    except KeyError:
        pass
    with _lock:
        if pattern in _cache:
            return _cache[pattern]
        result = _compile(pattern, shape_name)
        _cache[pattern] = result
        return result


def _compile(pattern: str, shape_name: str) -> re.Pattern[str] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Java's nested-set syntax
            return re.compile(pattern)
    except re.error as error:
        _failed[pattern] = str(error)
        LOG.warning(
            "pattern of %s is not checked: Python's re cannot compile %r (%s)",
            shape_name or "a shape",
            pattern,
            error,
        )
        return None


def uncompilable() -> dict[str, str]:
    """The patterns met so far that are not checked, and why."""
    with _lock:
        return dict(_failed)
