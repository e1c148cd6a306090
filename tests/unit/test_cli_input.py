"""`python -m cli start --input`: inline JSON or a JSON file, and what a mistake in either says."""

from __future__ import annotations

import pytest

from cli.__main__ import main
from cli.errors import CliError
from cli.input_arg import read_input


def _error(value: str) -> str:
    with pytest.raises(CliError) as error:
        read_input(value)
    return str(error.value)


def test_inline_json_and_a_file_give_the_same_input(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"recipe": "lora"}', encoding="utf-8")
    assert read_input('  {"recipe": "lora"}') == read_input(str(path)) == {"recipe": "lora"}


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(b'\xef\xbb\xbf{"recipe": "lora"}')
    assert read_input(str(path)) == {"recipe": "lora"}


def test_a_missing_file_says_no_such_file(tmp_path):
    missing = str(tmp_path / "run.json")
    assert _error(missing).startswith(f"{missing}: no such file")


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(b'{"recipe": "l\xe9ra"}')
    assert _error(str(path)).startswith(f"{path}: not UTF-8")


def test_invalid_json_in_a_file_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{\n  "recipe": \n}', encoding="utf-8")
    assert _error(str(path)) == f"{path}: not valid JSON: line 3, column 1: Expecting value"


def test_long_inline_json_is_parsed_not_taken_for_a_file_name():
    # Over 255 characters after the last "/": once an OSError (file name too long).
    value = '{"dataset": {"s3_uri": "s3://b/' + "x" * 300 + '"}, "recipe": }'
    assert _error(value).startswith("--input: not valid JSON: line 1, column ")


def test_json_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert (
        _error(str(path))
        == f"{path}: the execution input must be a JSON object {{...}}, got an array"
    )


def test_start_reports_a_bad_input_in_one_line_before_looking_for_a_cloud(tmp_path, capsys):
    assert main(["start", "--input", str(tmp_path / "nope.json")]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {tmp_path / 'nope.json'}: no such file "
        "(--input takes a JSON file or inline JSON starting with '{')\n"
    )
