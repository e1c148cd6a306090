"""Synthesized apps with models pinned; ``tests.pipeline.synth`` caches them for the session."""

from __future__ import annotations

import pytest

from tests.pipeline.synth import LOCAL_MODEL, PINS, Synth, synth


@pytest.fixture(scope="session")
def pinned_pipeline(tmp_path_factory) -> Synth:
    """Dev serves an S3 prefix; staging and prod a model package registered in dev."""
    return synth(tmp_path_factory, "pipeline", PINS)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Synth:
    """The shipped config: nothing pinned."""
    return synth(tmp_path_factory, "pipeline")


@pytest.fixture(scope="session")
def local_pinned(tmp_path_factory) -> Synth:
    """The local environment serving a model package of its own account."""
    return synth(tmp_path_factory, "local", {"local": LOCAL_MODEL})


@pytest.fixture(scope="session")
def local(tmp_path_factory) -> Synth:
    return synth(tmp_path_factory, "local")
