"""A tiny HTTP client for the contract tests (stdlib only, errors returned, not raised)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(
    url: str, body: Any = None, method: str = "POST", raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    """One HTTP request; returns the status and the decoded JSON body (errors included)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
