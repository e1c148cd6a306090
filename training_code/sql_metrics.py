"""Does a predicted query run against the sample's schema, and does it return what the
reference returns? Checked in an in-memory sqlite database per sample.

The schema's tables start empty, where every query "matches". So the tables are filled
with a few seeded rows whose values include the literals of the reference query (a
``WHERE city = 'Paris'`` then finds rows), and results are compared as multisets, or as
lists when the reference orders its rows.

Model output is untrusted: the database is in memory, read-only once filled, ATTACH and
PRAGMA are refused, and a query is interrupted after ``TIME_LIMIT_S``.
"""

from __future__ import annotations

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

_STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_NUMBER_LITERAL = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA}


@dataclass(frozen=True)
class SqlOutcome:
    """``valid``: the prediction ran; ``execution_match``: it returned the reference's rows.

    Either is ``None`` where the sample cannot tell (its schema or reference does not run).
    """

    valid: bool | None
    execution_match: bool | None
    error: str | None = None


def _literals(query: str) -> tuple[list[str], list[float]]:
    strings = [s.replace("''", "'") for s in _STRING_LITERAL.findall(query)]
    without_strings = _STRING_LITERAL.sub("''", query)
    numbers = [float(n) for n in _NUMBER_LITERAL.findall(without_strings)]
    return strings, numbers


def _fill(conn: sqlite3.Connection, reference: str, seed: int) -> None:
    """Puts seeded rows in every table, reusing the reference's literals as values."""
    rng = random.Random(seed)
    strings, numbers = _literals(reference)
    high = int(max(numbers, default=100) * 2) + 10
    # Each literal and its neighbours, so `> 30` and `> 31` select different rows.
    near = [v for n in numbers for v in (n - 1, n, n + 1)]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        rows = []
        for _ in range(ROWS_PER_TABLE):
            row: list[Any] = []
            for _cid, _name, declared, *_ in columns:
                numeric = any(k in (declared or "").upper() for k in ("INT", "REAL", "NUM", "FLOA"))
                if numeric:
                    pool = [*near, rng.randint(0, high)]
                    value: Any = rng.choice(pool)
                    row.append(int(value) if float(value).is_integer() else value)
                else:
                    row.append(rng.choice([*strings, f"v{rng.randint(0, 5)}"]))
            rows.append(row)
        marks = ", ".join("?" * len(columns))
        conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)


def _sandbox(schema: str, reference: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(schema)
    _fill(conn, reference, zlib.crc32(f"{schema}\n{reference}".encode()))
    conn.commit()
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


def _same_rows(reference: str, expected: list, got: list) -> bool:
    if re.search(r"\border\s+by\b", reference, re.IGNORECASE):
        return expected == got
    return Counter(map(repr, expected)) == Counter(map(repr, got))


def check_sql(prediction: str, reference: str, schema: str) -> SqlOutcome:
    """Runs the reference and the prediction against ``schema`` filled with seeded rows."""
    try:
        conn = _sandbox(schema, reference)
    except sqlite3.Error as exc:
        return SqlOutcome(None, None, f"schema does not load in sqlite: {exc}")
    try:
        try:
            expected = _run(conn, reference)
        except sqlite3.Error:
            expected = None  # the sample itself cannot be executed: only validity counts
        try:
            got = _run(conn, prediction.strip())
        except (sqlite3.Error, sqlite3.Warning) as exc:
            return SqlOutcome(False, False if expected is not None else None, str(exc))
        if expected is None:
            return SqlOutcome(True, None)
        return SqlOutcome(True, _same_rows(reference, expected, got))
    finally:
        conn.close()
