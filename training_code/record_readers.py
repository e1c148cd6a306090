"""Reading raw records from JSONL, JSON, CSV and Parquet files, or a Hugging Face dataset.

Every record comes with ``where`` (``file:line`` for text formats, ``file:row N`` for Parquet)
so a bad one can be reported precisely. A line that is not JSON, or a CSV row whose cells do
not match the header, is yielded as a ``RawRecord`` with ``error`` set, so the caller applies
one policy to every kind of bad input. Text files are UTF-8; a leading byte-order mark (Excel
and Windows exports) is ignored. A field mapping (``field_mapping``) renames columns as they are
read, before a CSV cell that holds JSON is decoded.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import field_mapping

FORMATS = ("auto", "jsonl", "csv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
# CSV cells are strings; these columns hold JSON (a list of messages, a metadata object).
_JSON_COLUMNS = ("messages", "metadata")


class InputError(ValueError):
    """Input that cannot be read at all (no files, an unreadable dataset)."""


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before any checking."""

    where: str
    value: Any
    error: str | None = None


def data_files(input_dir: Path, fmt: str = "auto") -> list[tuple[Path, str]]:
    """The data files under ``input_dir`` (sorted, recursive) with the format to read each in."""
    if not input_dir.is_dir():
        raise InputError(f"input folder {input_dir} does not exist")
    found = []
    for path in sorted(p for p in input_dir.rglob("*") if p.is_file()):
        if _is_hidden(path.relative_to(input_dir)):
            continue
        kind = fmt if fmt != "auto" else _EXTENSIONS.get(path.suffix.lower())
        if kind is not None:
            found.append((path, kind))
    if not found:
        raise InputError(
            f"no data files in {input_dir}: expected .jsonl, .json, .csv or .parquet "
            "(or pass --format to read files without those extensions)"
        )
    return found


def _is_hidden(relative: Path) -> bool:
    """A hidden file, or any file in a hidden folder (``.ipynb_checkpoints/``, ``.git/``)."""
    return any(part.startswith(".") for part in relative.parts)


def _read_text(path: Path) -> str:
    """The text of a UTF-8 file, without a leading byte-order mark.

    Raises:
        InputError: the file is not UTF-8, naming the file, line and byte offset.
    """
    data = path.read_bytes()
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); "
            "save the file as UTF-8"
        ) from None


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """JSON Lines; a ``.json`` file holding one JSON array is read as its elements."""
    text = _read_text(path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            yield RawRecord(f"{path}:{error.lineno}", None, f"not valid JSON ({error.msg})")
            return
        for index, item in enumerate(items, start=1):
            yield RawRecord(f"{path}:item {index}", item)
        return
    # Only "\n" ends a line: str.splitlines() also splits on U+2028, U+2029 and U+0085, which
    # json.dumps(ensure_ascii=False) leaves raw inside strings. json.loads ignores a "\r".
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield RawRecord(f"{path}:{number}", json.loads(line))
        except json.JSONDecodeError as error:
            yield RawRecord(f"{path}:{number}", None, f"not valid JSON ({error.msg})")


def read_csv(path: Path, fields: dict[str, str] | None = None) -> Iterator[RawRecord]:
    """CSV with a header row; ``where`` is the line a row starts on; ``fields`` renames columns.

    Raises:
        InputError: a header name is blank, repeated or has spaces around it (``file:1``).
    """
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    if header is None:  # an empty file
        return
    problem = _header_problem(header)
    if problem:
        raise InputError(f"{path}:1: {problem}")
    start = reader.line_num + 1
    for cells in reader:
        if cells:  # a blank line holds no record
            yield _csv_record(f"{path}:{start}", header, cells, fields or {})
        start = reader.line_num + 1


def _header_problem(header: list[str]) -> str | None:
    """Why a CSV header cannot name a record's fields, or ``None`` when it can.

    Names are taken as written: a blank one, one given twice (a row would keep only the last
    cell) or one with spaces around it (``question, answer`` names the field ``' answer'``) is
    refused rather than guessed at.
    """
    columns: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        columns.setdefault(name, []).append(number)
    blank = sorted(n for name, numbers in columns.items() if not name.strip() for n in numbers)
    if blank:
        which = f"column {blank[0]} has" if len(blank) == 1 else f"columns {_listed(blank)} have"
        return f"header {which} no name; name every column"
    twice = [
        f"{name!r} (columns {_listed(numbers)})"
        for name, numbers in columns.items()
        if len(numbers) > 1
    ]
    if twice:
        return f"header names a column more than once: {'; '.join(twice)}"
    spaced = [repr(name) for name in header if name != name.strip()]
    if spaced:
        return f"header names with spaces around them: {', '.join(spaced)}; remove the spaces"
    return None


def _listed(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _csv_record(
    where: str, header: list[str], cells: list[str], fields: dict[str, str]
) -> RawRecord:
    """One CSV row as a record keyed by the header, or a bad record when the cells don't fit."""
    if len(cells) != len(header):
        return RawRecord(where, None, _cell_count_problem(len(cells), len(header)))
    record = field_mapping.rename(dict(zip(header, cells, strict=True)), fields)
    for column in _JSON_COLUMNS:
        if column in record and not record[column].strip():
            record[column] = None  # a blank cell holds no value, as a missing column
        elif record.get(column):
            try:
                record[column] = json.loads(record[column])
            except json.JSONDecodeError as exc:
                return RawRecord(where, None, f"field '{column}': not valid JSON ({exc.msg})")
    return RawRecord(where, record)


def _cell_count_problem(cells: int, columns: int) -> str:
    found = f"row has {cells} cell{'' if cells == 1 else 's'}, the header has {columns}"
    if cells > columns:
        return f"{found} (an unquoted comma?): put a cell that holds a comma in double quotes"
    return f"{found}: give every column a cell, even an empty one"


def read_parquet(path: Path) -> Iterator[RawRecord]:
    """Parquet, row by row; ``where`` is the 1-based row number."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        yield RawRecord(f"{path}:row 1", None, f"not a readable Parquet file ({error})")
        return
    for index, row in enumerate(table.to_pylist(), start=1):
        yield RawRecord(f"{path}:row {index}", row)


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}


def read_files(
    files: list[tuple[Path, str]], fields: dict[str, str] | None = None
) -> Iterator[RawRecord]:
    """Every record of every file, in order, its columns renamed by ``fields``."""
    for path, kind in files:
        if kind == "csv":
            yield from read_csv(path, fields)
        else:
            yield from _renamed(READERS[kind](path), fields)


def _renamed(records: Iterator[RawRecord], fields: dict[str, str] | None) -> Iterator[RawRecord]:
    for item in records:
        yield RawRecord(item.where, field_mapping.rename(item.value, fields or {}), item.error)


def read_hub_dataset(dataset_id: str, fields: dict[str, str] | None = None) -> Iterator[RawRecord]:
    """A Hugging Face dataset, ``ID`` (all splits, in order) or ``ID:SPLIT``; ``fields`` renames
    its columns."""
    name, _, split = dataset_id.partition(":")
    try:
        from datasets import load_dataset

        loaded = load_dataset(name, split=split or None)
    except Exception as error:  # network, auth and format errors all end the same way
        raise InputError(
            f"cannot load dataset {dataset_id!r} ({type(error).__name__}: {error}); "
            "the job needs internet access for a hub dataset, or pass the data as files"
        ) from None
    splits = {split: loaded} if split else dict(loaded)
    for split_name, rows in splits.items():
        for index, row in enumerate(rows, start=1):
            yield RawRecord(
                f"{name}[{split_name}]:row {index}", field_mapping.rename(row, fields or {})
            )
