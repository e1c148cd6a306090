"""The configuration fields the workflow added: image overrides and processing limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG_PATH.read_text()
    assert old in text, old
    path = tmp_path / "environments.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_images_default_to_the_pinned_ones():
    images = load_config().environment("dev").images
    assert (images.training, images.processing, images.serving) == (None, None, None)


def test_an_image_override_loads(tmp_path):
    uri = "111122223333.dkr.ecr.us-east-1.amazonaws.com/trainer@sha256:" + "0" * 64
    path = _with(
        tmp_path,
        "    serving_model: null\n",
        f"    serving_model: null\n    images:\n      training: {uri}\n",
    )
    assert load_config(path).environment("local").images.training == uri


def test_a_bad_image_uri_names_its_field_and_line(tmp_path):
    path = _with(
        tmp_path,
        "    serving_model: null\n",
        "    serving_model: null\n    images:\n      serving: nginx:latest\n",
    )
    with pytest.raises(
        ConfigError, match=r"environments\.local\.images\.serving: must be an ECR image URI"
    ):
        load_config(path)


def test_processing_limits_have_defaults_and_are_checked(tmp_path):
    processing = load_config().environment("prod").processing
    assert (processing.max_runtime_minutes, processing.volume_size_gb) == (120, 30)
    path = _with(
        tmp_path,
        "instance_type: ml.m5.xlarge\n",
        "instance_type: ml.m5.xlarge\n      max_runtime_minutes: 0\n",
    )
    with pytest.raises(ConfigError, match=r"processing\.max_runtime_minutes: must be at least 1"):
        load_config(path)
