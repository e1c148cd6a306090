"""app.py's targets: the four environments and the pipeline, from any configuration file."""

from __future__ import annotations

import pytest

from app import PIPELINE, build_app
from stacks.config import ConfigError


def test_an_unknown_target_lists_the_pipeline_too(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"unknown environment 'qa': known environments are local, dev, staging, prod, "
        rf"or {PIPELINE}",
    ):
        build_app("qa", outdir=str(tmp_path))


def test_a_missing_configuration_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=rf"{missing}: cannot read the configuration file"):
        build_app("dev", outdir=str(tmp_path), config_path=missing)
