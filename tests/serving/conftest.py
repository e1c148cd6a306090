"""Fixtures for the serving tests: one local server on the tiny model, shared by the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/conftest.py puts these on sys.path too; kept here so this folder also runs alone.
_ROOT = Path(__file__).resolve().parents[2]
for _path in (_ROOT, _ROOT / "training_code", _ROOT / "inference_code"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from server_launcher import LocalServerProcess  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The 2-layer random Llama with SmolLM2's tokenizer and chat template."""
    from localcloud.models import tiny_model_dir

    return tiny_model_dir()


@pytest.fixture(scope="session")
def tiny_server(tiny_model: Path):
    """A ready local server on the tiny model; stopped (and checked) at the end."""
    server = LocalServerProcess.start(tiny_model, extra_args=["--max-batch-size", "8"])
    try:
        server.wait_ready(timeout=180)
        yield server
    finally:
        server.stop()
