"""Configuration errors in plain words: what each field takes, what was given instead, and the
closest known name for a misspelt one."""

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


def _message(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("volume_size_gb: 50", "volume_size_gb: fifty", "must be a whole number, got 'fifty'"),
        (
            "volume_size_gb: 50",
            "volume_size_gb: 50.5",
            "must be a whole number, got 50.5 (a number)",
        ),
        (
            "volume_size_gb: 50",
            "volume_size_gb: true",
            "must be a whole number, got true (a boolean)",
        ),
        (
            "volume_size_gb: 50",
            "volume_size_gb: [50, 60]",
            "must be a whole number, got a list: [50, 60]",
        ),
        ("use_spot: false", "use_spot: maybe", "use_spot: must be true or false, got 'maybe'"),
        (
            "threshold: 0.7",
            "threshold: [0.5, 0.7]",
            "threshold: must be a number, got a list: [0.5, 0.7]",
        ),
        (
            "threshold: 0.7",
            "threshold: {min: 0.5}",
            "threshold: must be a number, got a mapping: {min: 0.5}",
        ),
    ],
)
def test_a_wrong_type_says_what_the_field_takes_and_what_was_given(tmp_path, old, new, says):
    message = _message(_with(tmp_path, old, new))
    assert says in message
    assert "a int" not in message and "single" not in message


def test_an_unknown_field_gets_the_closest_known_name(tmp_path):
    message = _message(_with(tmp_path, "use_spot: false", "use_spot: false\n      use_spots: true"))
    assert "environments.local.training.use_spots: unknown field (did you mean 'use_spot'?)" in (
        message
    )


def test_an_unknown_environment_or_section_gets_the_closest_known_name(tmp_path):
    text = DEFAULT_CONFIG_PATH.read_text().replace("\n  staging:\n", "\n  stagin:\n", 1)
    path = tmp_path / "environments.yaml"
    path.write_text(text)
    assert "environments.stagin: unknown environment (did you mean 'staging'?)" in _message(path)
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace("pipeline:", "pipelines:", 1))
    assert "pipelines: unknown section (did you mean 'pipeline'?)" in _message(path)
