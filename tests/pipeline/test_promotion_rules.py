"""Promotion rules across environments: a model reaches prod only through staging."""

from __future__ import annotations

import pytest

from app import build_app
from stacks.config import ConfigError, load_config
from tests.pipeline.synth import DEV_MODEL, PROMOTED_MODEL, pinned_config

OTHER_MODEL = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/4"


def _line(path, env_name: str) -> int:
    """The line of ``serving_model`` in ``env_name``'s section."""
    env = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":"):
            env = line.strip()[:-1]
        if env == env_name and line.strip().startswith("serving_model:"):
            return number
    raise AssertionError(f"no serving_model in {env_name}")


def test_prod_pinned_without_staging_fails_naming_the_field(tmp_path):
    path = pinned_config(tmp_path, {"prod": PROMOTED_MODEL})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(
        f"{path}, line {_line(path, 'prod')}: environments.prod.serving_model:"
    )
    assert f"pins {PROMOTED_MODEL}, but environments.staging.serving_model pins nothing" in message
    assert "a model reaches prod only through staging" in message


def test_prod_pinned_to_another_model_than_staging_fails(tmp_path):
    path = pinned_config(tmp_path, {"staging": OTHER_MODEL, "prod": PROMOTED_MODEL})
    with pytest.raises(
        ConfigError,
        match=rf"line {_line(path, 'prod')}: environments\.prod\.serving_model: pins "
        rf".*/3, but environments\.staging\.serving_model pins .*/4: prod may only serve",
    ):
        load_config(path)


def test_an_s3_prefix_cannot_be_promoted_across_accounts(tmp_path):
    """Each environment reads an s3:// pin from its own account: staging's is not prod's."""
    prefix = "s3://staging-artifacts/runs/sql-1/model/sql-1-train/output/model/"
    path = pinned_config(tmp_path, {"staging": prefix, "prod": prefix})
    with pytest.raises(
        ConfigError,
        match=rf"line {_line(path, 'prod')}: environments\.prod\.serving_model: pins s3://.*, "
        r"an s3:// prefix, but staging and prod are different accounts",
    ):
        load_config(path)


def test_synth_fails_too(tmp_path):
    """``cdk synth`` of any target stops on the rule, the pipeline included."""
    path = pinned_config(tmp_path, {"prod": PROMOTED_MODEL})
    for target in ("dev", "pipeline"):
        with pytest.raises(ConfigError, match=r"environments\.prod\.serving_model"):
            build_app(target, outdir=str(tmp_path / target), config_path=path)


@pytest.mark.parametrize(
    "pins",
    [
        {"staging": PROMOTED_MODEL, "prod": PROMOTED_MODEL},  # promoted together
        {"staging": PROMOTED_MODEL},  # staging ahead of prod: prod serves nothing yet
        {"dev": DEV_MODEL},  # dev tries anything
        {"staging": None, "prod": None},
    ],
)
def test_allowed_pins_load(tmp_path, pins):
    config = load_config(pinned_config(tmp_path, pins))
    for name, pin in pins.items():
        assert config.environment(name).serving_model == pin


def test_model_package_of_an_unconfigured_account_fails(tmp_path):
    stranger = "arn:aws:sagemaker:us-east-1:999999999999:model-package/llm-finetune-dev/3"
    path = pinned_config(tmp_path, {"dev": stranger})
    with pytest.raises(
        ConfigError,
        match=rf"line {_line(path, 'dev')}: environments\.dev\.serving_model: is a model "
        r"package in account 999999999999, which is no configured environment's account",
    ):
        load_config(path)


def test_model_package_of_another_region_fails(tmp_path):
    elsewhere = "arn:aws:sagemaker:eu-west-1:222222222222:model-package/llm-finetune-dev/3"
    path = pinned_config(tmp_path, {"dev": elsewhere})
    with pytest.raises(
        ConfigError,
        match=rf"line {_line(path, 'dev')}: environments\.dev\.serving_model: is a model "
        r"package in eu-west-1, but this environment runs in us-east-1",
    ):
        load_config(path)


def test_shipped_config_pins_nothing():
    config = load_config()
    assert {name: env.serving_model for name, env in config.environments.items()} == {
        "local": None,
        "dev": None,
        "staging": None,
        "prod": None,
    }
