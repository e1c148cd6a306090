"""Per-environment configuration: every shipped environment loads; bad values say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.config_schema import ENVIRONMENT_NAMES


def _with(tmp_path: Path, old: str, new: str, *, count: int = 1) -> Path:
    text = DEFAULT_CONFIG_PATH.read_text()
    assert old in text, old
    path = tmp_path / "environments.yaml"
    path.write_text(text.replace(old, new, count))
    return path


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_every_environment_loads():
    config = load_config()
    assert tuple(config.environments) == ENVIRONMENT_NAMES
    prod = config.environment("prod")
    assert prod.retain_data is True
    assert prod.model_approval == "PendingManualApproval"
    assert config.environment("local").training.use_spot is False


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(KeyError, match="known environments are local, dev, staging, prod"):
        load_config().environment("qa")


def test_bad_value_names_file_line_environment_and_field(tmp_path):
    path = _with(tmp_path, "instance_count: 1", "instance_count: 0", count=3)
    line = _line_of(path, "instance_count: 0")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f"{path}, line {line}" in message
    assert "environments.local.training.instance_count" in message
    assert "must be at least 1, got 0" in message


def test_threshold_out_of_range(tmp_path):
    path = _with(tmp_path, "threshold: 0.75", "threshold: 1.5")
    with pytest.raises(
        ConfigError,
        match=r"environments\.prod\.evaluation\.threshold: must be between 0 and 1, got 1.5",
    ):
        load_config(path)


def test_an_evaluation_endpoint_without_a_gpu_is_named(tmp_path):
    path = _with(
        tmp_path,
        "    evaluation:\n      instance_type: ml.g5.xlarge",
        "    evaluation:\n      instance_type: ml.m5.xlarge",
        count=1,
    )
    with pytest.raises(
        ConfigError,
        match=r"environments\.local\.evaluation\.instance_type: 'ml\.m5\.xlarge' has no GPU",
    ):
        load_config(path)


def test_unknown_field_is_named(tmp_path):
    path = _with(tmp_path, "use_spot: false", "use_spot: false\n      use_spots: true")
    with pytest.raises(
        ConfigError, match=r"environments\.local\.training\.use_spots: unknown field"
    ):
        load_config(path)


def test_wrong_type_is_named(tmp_path):
    path = _with(tmp_path, "volume_size_gb: 50", "volume_size_gb: fifty")
    with pytest.raises(ConfigError, match=r"volume_size_gb: must be a int, got 'fifty'"):
        load_config(path)


def test_unquoted_account_is_caught(tmp_path):
    path = _with(tmp_path, 'account: "222222222222"', "account: 222222222222")
    with pytest.raises(
        ConfigError, match=r"environments\.dev\.account: must be a string; write it in quotes"
    ):
        load_config(path)


def test_spot_needs_a_wait_limit(tmp_path):
    path = _with(tmp_path, "      max_wait_minutes: 960\n", "")
    with pytest.raises(
        ConfigError,
        match=r"environments\.dev\.training\.max_wait_minutes: is required when use_spot",
    ):
        load_config(path)


def test_missing_field(tmp_path):
    path = _with(tmp_path, "    processing:\n      instance_type: ml.m5.xlarge\n", "")
    with pytest.raises(ConfigError, match=r"environments\.local\.processing: is required"):
        load_config(path)


def test_bad_serving_pin(tmp_path):
    path = _with(tmp_path, "serving_model: null", "serving_model: my-model", count=1)
    with pytest.raises(
        ConfigError, match=r"environments\.local\.serving_model: must be a model package"
    ):
        load_config(path)


def test_unknown_environment_in_file(tmp_path):
    path = _with(tmp_path, "  dev:\n", "  qa:\n")
    with pytest.raises(ConfigError, match=r"environments\.qa: unknown environment; use one of"):
        load_config(path)


def test_synth_fails_on_bad_value(tmp_path):
    """app.py turns a bad value into a non-zero exit with the message."""
    import subprocess
    import sys

    path = _with(tmp_path, "threshold: 0.75", "threshold: -1")
    code = (
        "import sys; from pathlib import Path; from app import build_app;"
        f"build_app('prod', outdir={str(tmp_path / 'out')!r}, config_path=Path({str(path)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=DEFAULT_CONFIG_PATH.parent.parent,
    )
    assert result.returncode != 0
    assert (
        "environments.prod.evaluation.threshold: must be between 0 and 1, got -1" in result.stderr
    )
