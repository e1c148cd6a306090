"""A dataset's field mapping: which column holds each field that a record shape reads.

``{"answer": "sql"}`` reads the text-to-SQL ``answer`` from a column named ``sql``, so a file
whose columns are named otherwise needs no rewriting. The execution input gives it as
``dataset.fields`` and the workflow passes it to ``prepare_data.py`` as ``--field answer=sql``;
both check it here (the input-validation Lambda carries this file), so a bad mapping is refused
when the run starts. Standard library only.
"""

from __future__ import annotations

import difflib
from typing import Any

from chat_format import FIELDS, RecordError
from config_values import shown

# Each mapping travels as one ``--field FIELD=COLUMN`` argument, and SageMaker takes at most 256
# characters per container argument (ContainerArgument in botocore's sagemaker service model).
MAX_ARGUMENT = 256
LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def problems(mapping: Any) -> list[tuple[str | None, str]]:
    """What is wrong with a mapping of field to column: ``(field, problem)`` pairs, the field
    None for a problem with the whole mapping."""
    if not isinstance(mapping, dict):
        example = '{"answer": "sql"}'
        return [
            (None, f"must be an object of field: column, such as {example}, got {shown(mapping)}")
        ]
    found: list[tuple[str | None, str]] = []
    columns: dict[str, str] = {}
    for field, column in mapping.items():
        if field not in FIELDS:
            close = difflib.get_close_matches(str(field), FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(
                (str(field)[:40], f"is not a record field{hint}; fields: {', '.join(FIELDS)}")
            )
        elif not isinstance(column, str) or not column:
            found.append((field, f"must name a column, got {shown(column)}"))
        elif any(mark in column for mark in LINE_BREAKS):
            found.append((field, "a column name with a line break cannot be passed to the job"))
        elif len(f"{field}={column}") > MAX_ARGUMENT:
            limit = f"FIELD=COLUMN must fit in a job argument ({MAX_ARGUMENT} characters)"
            found.append((field, f"the column name is too long: {limit}"))
        elif column in columns:
            found.append((field, f"column {shown(column)} is already read as {columns[column]!r}"))
        else:
            columns[column] = field
    return found


def parse_arguments(pairs: list[str]) -> dict[str, str]:
    """``["answer=sql"]`` (``prepare_data.py --field``) as ``{"answer": "sql"}``.

    Raises:
        ValueError: a pair without ``=`` or a mapping ``problems`` refuses, all listed.
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, equals, column = pair.partition("=")
        if not equals:
            raise ValueError(f"--field {pair!r}: expected FIELD=COLUMN, such as answer=sql")
        mapping[field] = column
    found = problems(mapping)
    if found:
        raise ValueError("; ".join(f"--field {field}: {problem}" for field, problem in found))
    return mapping


def rename(record: Any, mapping: dict[str, str]) -> Any:
    """``record`` with each mapped column read as its field.

    A column named like a mapped field is not read: the mapping says where that field is.
    """
    if not mapping or not isinstance(record, dict):
        return record
    sources = set(mapping.values())
    renamed = {k: v for k, v in record.items() if k not in sources and k not in mapping}
    for field, column in mapping.items():
        if column in record:
            renamed[field] = record[column]
    return renamed


def describe(error: RecordError, mapping: dict[str, str]) -> str:
    """A record's problem, naming the column too when its field was mapped."""
    if error.field in mapping:
        return f"field '{error.field}' (column {mapping[error.field]!r}): {error.problem}"
    return str(error)
