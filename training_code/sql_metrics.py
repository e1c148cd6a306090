"""Does a predicted query run against the sample's schema, and does it return what the
reference returns? Checked in an in-memory sqlite database per sample.

The schema's tables start empty, where every query "matches". So the tables are filled
with a few seeded rows whose values include the literals of the reference query (a
``WHERE city = 'Paris'`` then finds rows). PRIMARY KEY and UNIQUE columns get distinct
values, and a row a constraint still refuses is left out, so a schema with keys loads.

Results are compared as multisets. When the reference's outermost query has ORDER BY, the
prediction's rows must also come in an order that ORDER BY allows: rows the reference ties
on its sort key may come in any order among themselves (and, under LIMIT, any of the tied
rows may fill the last places).

Model output is untrusted: the database is in memory, read-only once filled, ATTACH and
PRAGMA are refused, and a query is interrupted after ``TIME_LIMIT_S``.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import sqlite3
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

ROWS_PER_TABLE = 16
TIME_LIMIT_S = 2.0
MAX_RESULT_ROWS = 10_000
# sqlite stores integers in 64 bits; Python refuses to bind a bigger int, so literals are clamped.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_NUMBER_LITERAL = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_NUMERIC_TYPES = ("INT", "REAL", "NUM", "FLOA", "DOUB", "DEC")
# One SQL token: a string or quoted name, a comment, a word, or any other single character.
_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|\[[^\]]*\]"
    r"|--[^\n]*|/\*.*?(?:\*/|\Z)|\w+|\S",
    re.DOTALL,
)
_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA}


@dataclass(frozen=True)
class SqlOutcome:
    """``valid``: the prediction ran; ``execution_match``: it returned the reference's rows.

    Either is ``None`` where the sample cannot tell (its schema or reference does not run);
    ``error`` then says why, as it does for a prediction that does not run.
    """

    valid: bool | None
    execution_match: bool | None
    error: str | None = None


def _clamp(value: float) -> float:
    return min(max(value, INT_MIN), INT_MAX) if isinstance(value, int) else value


def _literals(query: str) -> tuple[list[str], list[float]]:
    strings = [s.replace("''", "'") for s in _STRING_LITERAL.findall(query)]
    without_strings = _STRING_LITERAL.sub("''", query)
    numbers = [float(n) if "." in n else int(n) for n in _NUMBER_LITERAL.findall(without_strings)]
    return strings, [_clamp(n) for n in numbers if isinstance(n, int) or math.isfinite(n)]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_value(number: float) -> float:
    """An integral number as an int (``30``, not ``30.0``) where sqlite can hold it as one."""
    if isinstance(number, float) and number.is_integer() and INT_MIN <= number <= INT_MAX:
        return int(number)
    return number


def _distinct_columns(conn: sqlite3.Connection, table: str, columns: list[tuple]) -> set[str]:
    """Columns whose values must differ row to row so every PRIMARY KEY and UNIQUE holds.

    A one-column key is distinct itself; for a key of several columns the last one is made
    distinct, so the others (``student_id`` of ``(student_id, course_id)``) still repeat.
    """
    primary = sorted((column for column in columns if column[5]), key=lambda column: column[5])
    keys = [[column[1] for column in primary]]  # table_info's pk: place in the PRIMARY KEY
    for _seq, index, unique, *_ in conn.execute(f"PRAGMA index_list({_quote(table)})"):
        if unique:
            info = conn.execute(f"PRAGMA index_info({_quote(index)})").fetchall()
            keys.append([name for *_, name in info if name is not None])
    distinct = {key[0] for key in keys if len(key) == 1}
    for key in keys:
        if len(key) > 1 and not distinct.intersection(key):
            distinct.add(key[-1])
    return distinct


def _fill(conn: sqlite3.Connection, reference: str, seed: int) -> None:
    """Puts seeded rows in every table, reusing the reference's literals as values."""
    rng = random.Random(seed)
    strings, numbers = _literals(reference)
    high = int(min(max(numbers, default=100), INT_MAX // 4) * 2) + 10
    # Each literal and its neighbours, so `> 30` and `> 31` select different rows.
    near = [_clamp(v) for n in numbers for v in (n - 1, n, n + 1)]
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    for (table,) in tables:
        if table.startswith("sqlite_"):  # sqlite's own, such as sqlite_sequence
            continue
        columns = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        distinct = _distinct_columns(conn, table, columns)
        values, rows = [], range(ROWS_PER_TABLE)
        for _cid, name, declared, *_ in columns:
            numeric = any(k in (declared or "").upper() for k in _NUMERIC_TYPES)
            if name in distinct:
                integer = "INT" in (declared or "").upper()
                values.append(_distinct_values(rng, numeric, integer, strings, [*numbers, *near]))
            elif numeric:
                values.append([_as_value(rng.choice([*near, rng.randint(0, high)])) for _ in rows])
            else:
                values.append([rng.choice([*strings, f"v{rng.randint(0, 5)}"]) for _ in rows])
        names = ", ".join(_quote(column[1]) for column in columns)
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT OR IGNORE INTO {_quote(table)} ({names}) VALUES ({marks})"
        for row in zip(*values, strict=True):
            # OR IGNORE skips a row a constraint (CHECK, a key already in the schema's own
            # rows) refuses; a type a STRICT table or INTEGER PRIMARY KEY refuses, or a
            # literal sqlite cannot take (a lone surrogate), is an error: that row is left out.
            with contextlib.suppress(sqlite3.Error, ValueError, OverflowError):
                conn.execute(insert, row)


def _distinct_values(
    rng: random.Random, numeric: bool, integer: bool, strings: list[str], numbers: list[float]
) -> list[Any]:
    """``ROWS_PER_TABLE`` different values for a key column: the literals, then row numbers."""
    if numeric:
        literals = [_as_value(n) for n in numbers if not integer or float(n).is_integer()]
        fillers = range(1, 2 * ROWS_PER_TABLE + 1)
    else:
        literals = list(strings)
        fillers = (f"v{i}" for i in range(2 * ROWS_PER_TABLE))
    values = list(dict.fromkeys([*literals, *fillers]))[:ROWS_PER_TABLE]
    rng.shuffle(values)
    return values


def _sandbox(schema: str, reference: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        _fill(conn, reference, zlib.crc32(f"{schema}\n{reference}".encode(errors="replace")))
        conn.commit()
    except BaseException:
        conn.close()
        raise
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(lambda action, *_: sqlite3.SQLITE_DENY if action in _DENIED else 0)
    return conn


def _run(conn: sqlite3.Connection, query: str) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + TIME_LIMIT_S
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cursor = conn.execute(query)
        if cursor.description is None:  # empty text, a comment: nothing was asked
            raise sqlite3.ProgrammingError("not a query that returns rows")
        rows = cursor.fetchmany(MAX_RESULT_ROWS + 1)
    finally:
        conn.set_progress_handler(None, 0)
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


@dataclass(frozen=True)
class _Ordering:
    """The reference cut where tie-breaks go: ``head`` ends with its outermost ORDER BY
    clause, ``limit`` is its LIMIT clause ("" without one)."""

    head: str
    limit: str

    def probe(self, width: int, direction: str, limited: bool) -> str:
        """The reference with every result column appended to its ORDER BY as a tie-break."""
        tie_break = ", ".join(f"{column} {direction}" for column in range(1, width + 1))
        # Newlines, so that a `--` comment at the cut cannot swallow what follows it.
        return f"{self.head}\n, {tie_break}\n{self.limit if limited else ''}"


def _ordering(query: str) -> _Ordering | None:
    """Where the outermost ORDER BY and LIMIT of ``query`` are; ``None`` if it does not order.

    An ORDER BY inside parentheses (a subquery, ``OVER (ORDER BY ...)``) does not order
    the result.
    """
    tokens = [t for t in _TOKEN.finditer(query) if not t.group().startswith(("--", "/*"))]
    depth, order_at, limit_at, end = 0, None, None, 0
    for i, token in enumerate(tokens):
        word = token.group().upper()
        depth += (word == "(") - (word == ")")
        following = tokens[i + 1].group().upper() if i + 1 < len(tokens) else ""
        if depth == 0 and word == "ORDER" and following == "BY":
            order_at = token.start()
        elif depth == 0 and word == "LIMIT" and order_at is not None:
            limit_at = token.start()
        if word != ";":
            end = token.end()
    if order_at is None:
        return None
    if limit_at is None:
        return _Ordering(query[:end], "")
    return _Ordering(query[:limit_at], query[limit_at:end])


def _tie_runs(ascending: list[str], descending: list[str]) -> list[Counter] | None:
    """The rows of each run the reference's ORDER BY ties, in order.

    ``ascending`` and ``descending`` are the reference's rows with all result columns as
    ascending, then descending tie-breaks. A run of tied rows holds the same places in both
    (reversed within), so runs end where both have so far seen the same rows.
    """
    if len(ascending) != len(descending):
        return None
    runs: list[Counter] = []
    run: Counter = Counter()
    balance: dict[str, int] = {}
    for up, down in zip(ascending, descending, strict=True):
        run[up] += 1
        for row, step in ((up, 1), (down, -1)):
            balance[row] = balance.get(row, 0) + step
            if not balance[row]:
                del balance[row]
        if not balance:
            runs.append(run)
            run = Counter()
    return None if run else runs


def _fits(got: list[str], runs: list[Counter], start: int) -> bool:
    """Whether ``got`` is the places ``start``... of an ordering that keeps to ``runs``."""
    place, taken = 0, 0
    for run in runs:
        size = run.total()
        count = min(place + size, start + len(got)) - max(place, start)
        if count > 0:
            if Counter(got[taken : taken + count]) - run:
                return False
            taken += count
        place += size
    return taken == len(got)


def _ordered_match(
    conn: sqlite3.Connection, ordering: _Ordering, expected: list, got: list
) -> bool:
    """Same rows, in an order the reference's ORDER BY allows (ties in any order)."""
    want, have = list(map(repr, expected)), list(map(repr, got))
    if want == have:
        return True
    if len(want) != len(have):
        return False
    width = len(expected[0])
    try:
        up = list(map(repr, _run(conn, ordering.probe(width, "ASC", limited=False))))
        down = list(map(repr, _run(conn, ordering.probe(width, "DESC", limited=False))))
        window = up
        if ordering.limit:
            window = list(map(repr, _run(conn, ordering.probe(width, "ASC", limited=True))))
    except Exception:  # the probe does not run: the reference's own order is the one allowed
        return False
    runs = _tie_runs(up, down)
    if runs is None or len(up) > MAX_RESULT_ROWS or len(window) != len(have):
        return False
    # Under LIMIT/OFFSET the reference shows a window of the full ordering; where it starts
    # is where the tie-broken full ordering shows the same rows as the tie-broken window.
    starts = [s for s in range(len(up) - len(window) + 1) if up[s : s + len(window)] == window]
    return any(_fits(have, runs, start) for start in starts)


def _same_rows(conn: sqlite3.Connection, reference: str, expected: list, got: list) -> bool:
    ordering = _ordering(reference)
    if ordering is not None:
        return _ordered_match(conn, ordering, expected, got)
    return Counter(map(repr, expected)) == Counter(map(repr, got))


def _describe(exc: Exception) -> str:
    if isinstance(exc, sqlite3.Error | sqlite3.Warning):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def check_sql(prediction: str, reference: str, schema: str) -> SqlOutcome:
    """Runs the reference and the prediction against ``schema`` filled with seeded rows.

    Never raises: a prediction that fails in any way (a sqlite error, text sqlite cannot
    take such as a lone surrogate) is invalid; a schema or reference that fails makes the
    sample unmeasurable (``None``), with the reason in ``error``.
    """
    try:
        conn = _sandbox(schema, reference)
    except Exception as exc:
        return SqlOutcome(None, None, f"schema does not load in sqlite: {_describe(exc)}")
    try:
        try:
            expected, reference_error = _run(conn, reference), None
        except Exception as exc:  # the sample itself cannot be executed: only validity counts
            expected, reference_error = None, f"reference does not run: {_describe(exc)}"
        try:
            got = _run(conn, prediction.strip())
        except Exception as exc:
            return SqlOutcome(False, False if expected is not None else None, _describe(exc))
        if expected is None:
            return SqlOutcome(True, None, reference_error)
        return SqlOutcome(True, _same_rows(conn, reference, expected, got))
    finally:
        conn.close()
