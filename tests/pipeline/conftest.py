"""Pipeline apps synthesized once per session (``tests.pipeline.synth`` caches them)."""

from __future__ import annotations

import pytest

from tests.pipeline.synth import PINS, Synth, synth


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Synth:
    """The pipeline from the shipped config: nothing pinned anywhere."""
    return synth(tmp_path_factory, "pipeline")


@pytest.fixture(scope="session")
def pinned_pipeline(tmp_path_factory) -> Synth:
    """The pipeline with a dev model in dev and a dev-registered package in staging and prod."""
    return synth(tmp_path_factory, "pipeline", PINS)
