"""The ``--input`` of ``start``: an execution input as inline JSON or as the path of a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.errors import CliError

_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def read_input(value: str) -> dict[str, Any]:
    """The execution input that ``value`` gives.

    A value whose first non-blank character is ``{`` is inline JSON; anything else is a path.

    Raises:
        CliError: the file is missing or not UTF-8, or the JSON is invalid or not an object;
            the message names the file (or ``--input``) and the line and column.
    """
    if not value.strip():
        raise CliError("--input is empty: give a JSON file or inline JSON such as '{...}'")
    if value.lstrip().startswith("{"):
        return _parse(value, "--input")
    return _parse(_read_file(value), value)


def _read_file(path: str) -> str:
    try:
        # utf-8-sig: editors on Windows save JSON with a byte-order mark that json rejects.
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(
            f"{path}: no such file (--input takes a JSON file or inline JSON starting with '{{')"
        ) from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a folder; --input takes a JSON file") from None
    except UnicodeDecodeError as error:
        raise CliError(
            f"{path}: not UTF-8 (byte {error.start} is {error.object[error.start]:#04x}); "
            "save the file as UTF-8"
        ) from None
    except OSError as error:
        raise CliError(f"{path}: cannot be read: {error.strerror or error}") from None


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{where}: not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(parsed, dict):
        raise CliError(
            f"{where}: the execution input must be a JSON object {{...}}, "
            f"got {_JSON_KINDS.get(type(parsed), 'null')}"
        )
    return parsed
