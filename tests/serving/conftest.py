"""Fixtures for the serving tests: one local server on the tiny model, shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_launcher import LocalServerProcess


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The 2-layer random Llama with SmolLM2's tokenizer and chat template."""
    from cli.sample_models import tiny_model_dir

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
