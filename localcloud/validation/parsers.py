"""moto's model-driven request parsers, made to keep what they cannot convert.

moto's parsers turn query-string, header and URI text into the model's types and raise on text
that is not a number; these keep such text as sent, so the type check names the member. The
REST-JSON body is kept as sent too (moto would convert ``"3"`` to ``3`` for an integer member).
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.parse import UNDEFINED, QueryParser, RestJSONParser, RestXMLParser


def _number(convert: Any, value: Any) -> Any:
    """The value as a number when it is one; otherwise as sent, for the type check to name."""
    try:
        return convert(value)
    except (TypeError, ValueError):
        return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class LenientQuery(QueryParser):
    def _parse_integer(self, shape, query_params, prefix=""):  # type: ignore[no-untyped-def]
        value = self._default_handle(shape, query_params, prefix)
        return value if value is UNDEFINED else _number(int, value)

    def _parse_float(self, shape, query_params, prefix=""):  # type: ignore[no-untyped-def]
        value = self._default_handle(shape, query_params, prefix)
        return value if value is UNDEFINED else _number(float, value)

    def _parse_boolean(self, shape, query_params, prefix=""):  # type: ignore[no-untyped-def]
        return _boolean(self._default_handle(shape, query_params, prefix))

    def _parse_blob(self, shape, query_params, prefix=""):  # type: ignore[no-untyped-def]
        return self._default_handle(shape, query_params, prefix)

    _parse_timestamp = _parse_blob
    _parse_double = _parse_float
    _parse_long = _parse_integer


class LenientRestJSON(RestJSONParser):
    def _parse_integer(self, shape, value):  # type: ignore[no-untyped-def]
        return _number(int, value) if isinstance(value, str) else value

    def _parse_float(self, shape, value):  # type: ignore[no-untyped-def]
        return _number(float, value) if isinstance(value, str) else value

    def _parse_boolean(self, shape, value):  # type: ignore[no-untyped-def]
        return _boolean(value)

    def _parse_blob(self, shape, value):  # type: ignore[no-untyped-def]
        return value

    _parse_timestamp = _parse_blob
    _parse_double = _parse_float
    _parse_long = _parse_integer

    def _parse_payload(self, request, shape, member_shapes, final_parsed):  # type: ignore[no-untyped-def]
        body = request["body"]
        payload = shape.serialization.get("payload")
        if payload and member_shapes[payload].type_name in ("blob", "string"):
            if body:
                final_parsed[payload] = body
            return
        document = json.loads(body) if body and body.strip() else {}
        if payload:
            if document:
                final_parsed[payload] = document
            return
        if not isinstance(document, dict):
            raise ValueError("the body is not a JSON object")
        for name, member in member_shapes.items():
            if member.serialization.get("location") is None:
                wire_name = member.serialization.get("name", name)
                if wire_name in document:
                    final_parsed[name] = document[wire_name]


def _text(node_or_string: Any) -> Any:
    """The text of an XML node (empty for ``<a></a>``), or the header/URI string itself."""
    if hasattr(node_or_string, "text"):
        return node_or_string.text or ""
    return node_or_string


class LenientRestXML(RestXMLParser):
    def _parse_integer(self, shape, node):  # type: ignore[no-untyped-def]
        return _number(int, _text(node))

    def _parse_float(self, shape, node):  # type: ignore[no-untyped-def]
        return _number(float, _text(node))

    def _parse_boolean(self, shape, node):  # type: ignore[no-untyped-def]
        return _boolean(_text(node))

    def _parse_timestamp(self, shape, node):  # type: ignore[no-untyped-def]
        return _text(node)

    _parse_double = _parse_float
    _parse_long = _parse_integer
