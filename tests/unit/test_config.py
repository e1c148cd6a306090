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


def _dev_section(text: str) -> str:
    """The shipped file's ``dev:`` section, header and fields."""
    return text[text.index("\n  dev:\n") + 1 : text.index("\n  staging:\n") + 1]


def _written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environments.yaml"
    path.write_text(text)
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
    with pytest.raises(ConfigError, match=r"volume_size_gb: must be a whole number, got 'fifty'"):
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


# Duplicate keys: YAML keeps the last, a reviewer may read the first.


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            '  prod:\n    account: "444444444444"\n',
            '  prod:\n    account: "444444444444"\n    account: "333333333333"\n',
            "environments.prod.account",
        ),
        ("pipeline:\n", "environments: {}\npipeline:\n", "environments"),
    ],
    ids=["field", "section"],
)
def test_a_key_set_twice_is_refused_naming_both_lines(tmp_path, old, new, where):
    path = _with(tmp_path, old, new)
    with pytest.raises(ConfigError, match=rf"line \d+: {where}: set twice \(also on line \d+\)"):
        load_config(path)


def test_an_environment_set_twice_is_refused(tmp_path):
    text = DEFAULT_CONFIG_PATH.read_text()
    path = _written(tmp_path, text + _dev_section(text))
    with pytest.raises(ConfigError, match=r"environments\.dev: set twice \(also on line \d+\)"):
        load_config(path)


# Values that used to pass and then failed at synth or deploy.


def test_a_region_without_the_images_is_named_with_its_line(tmp_path):
    path = _with(tmp_path, "region: us-east-1", "region: us-east-9", count=3)
    line = _line_of(path, "region: us-east-9", nth=2)  # the first is the pipeline's
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f"line {line}: environments.local.region: the job image " in message
    assert "is not published in region 'us-east-9'" in message


@pytest.mark.parametrize("instance", ["ml.g5.2xlarg", "ml.g5.huge", "ml.g5.0xlarge"])
def test_an_instance_size_that_does_not_exist_is_refused(tmp_path, instance):
    path = _with(tmp_path, "instance_type: ml.m5.xlarge", f"instance_type: {instance}")
    with pytest.raises(ConfigError, match=r"processing\.instance_type: must look like"):
        load_config(path)


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("connection_arn", "connection_arn: ", "connection_arn: arn:aws:s3:::my-bucket #"),
        ("repository", "repository: ", "repository: https:/github.com #"),
        ("branch", "branch: main", 'branch: ""'),
    ],
)
def test_the_pipeline_source_is_checked(tmp_path, field, old, new):
    path = _with(tmp_path, old, new)
    with pytest.raises(ConfigError, match=rf"pipeline\.{field}: must"):
        load_config(path)


def test_the_pipeline_deploys_in_its_own_region(tmp_path):
    path = _with(tmp_path, "region: us-east-1", "region: eu-west-1")  # the first: the pipeline's
    with pytest.raises(
        ConfigError,
        match=r"pipeline\.region: is eu-west-1, but environments\.dev\.region is us-east-1",
    ):
        load_config(path)


def test_the_pipeline_needs_dev_staging_and_prod(tmp_path):
    from app import build_app

    text = DEFAULT_CONFIG_PATH.read_text()
    path = _written(tmp_path, text.replace(_dev_section(text), ""))
    load_config(path)  # a file for the other environments is fine
    with pytest.raises(ConfigError, match=r"environments\.dev: is required for the pipeline"):
        build_app("pipeline", outdir=str(tmp_path / "out"), config_path=path)


# Model package pins: a version a configured environment's workflow registered.

DEV_PACKAGE = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/3"
LOCAL_ACCOUNT_PACKAGE = (
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/llm-finetune-local/1"
)


def _pinned(tmp_path, pins: dict[str, str]) -> Path:
    from tests.pipeline.synth import pinned_config

    return pinned_config(tmp_path, pins)


@pytest.mark.parametrize(
    ("pins", "where", "says"),
    [
        (
            {"staging": DEV_PACKAGE.replace("llm-finetune-dev", "some-other-group")},
            "staging",
            "is a model package of group some-other-group, but the workflows of account "
            "222222222222 register into llm-finetune-dev",
        ),
        ({"staging": DEV_PACKAGE.replace("/3", "/0")}, "staging", "must be a model package"),
        (
            {"staging": LOCAL_ACCOUNT_PACKAGE, "prod": LOCAL_ACCOUNT_PACKAGE},
            "staging",
            "account 123456789012, which is no configured environment's account that staging "
            "may read from: the stacks grant cross-account reads only between dev, staging",
        ),
        (
            {"local": DEV_PACKAGE},
            "local",
            "account 222222222222, which is no configured environment's account that local may "
            "read from: the local cloud serves only its own registry's packages",
        ),
    ],
    ids=["another-group", "version-0", "local-account-in-staging", "dev-package-in-local"],
)
def test_a_pinned_package_must_be_one_a_configured_workflow_registered(tmp_path, pins, where, says):
    path = _pinned(tmp_path, pins)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"environments.{where}.serving_model: " in str(error.value)
    assert says in str(error.value)


def test_the_pins_the_project_documents_still_load(tmp_path):
    from tests.pipeline.synth import PINS

    load_config(_pinned(tmp_path, {**PINS, "local": LOCAL_ACCOUNT_PACKAGE}))


def test_the_evaluation_endpoint_wait_covers_the_model_loading_timeout(tmp_path):
    path = _with(tmp_path, "endpoint_timeout_minutes: 30", "endpoint_timeout_minutes: 15")
    with pytest.raises(
        ConfigError,
        match=r"environments\.local\.evaluation\.endpoint_timeout_minutes: must be at least 25, "
        r"got 15: the serving container may take 900 s",
    ):
        load_config(path)
