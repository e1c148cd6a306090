"""Which environment grants what to which account, derived from the pins in config."""

from __future__ import annotations

from stacks.config import load_config
from stacks.serving.promotion import cross_account_links, serving_role_name
from tests.pipeline.synth import DEV_MODEL, LOCAL_MODEL, PINS, pinned_config


def _readers(config, env_name: str) -> list[str]:
    return [reader.name for reader in cross_account_links(config, env_name).model_readers]


def test_a_model_registered_in_dev_is_read_by_staging_and_prod(tmp_path):
    config = load_config(pinned_config(tmp_path, PINS))
    assert _readers(config, "dev") == ["staging", "prod"]
    for name in ("local", "staging", "prod"):
        assert _readers(config, name) == []


def test_only_the_smoke_tested_environment_trusts_the_tooling_account(tmp_path):
    config = load_config(pinned_config(tmp_path, PINS))
    tested = {name: cross_account_links(config, name).smoke_tester_account for name in PINS}
    assert tested == {"dev": None, "staging": "111111111111", "prod": None}


def test_nothing_pinned_means_no_grants():
    config = load_config()
    for name in config.environments:
        links = cross_account_links(config, name)
        assert links.model_readers == ()
        assert links.smoke_tester_account is None


def test_same_account_and_s3_pins_need_no_cross_account_grant(tmp_path):
    config = load_config(pinned_config(tmp_path, {"local": LOCAL_MODEL, "dev": DEV_MODEL}))
    for name in config.environments:
        assert _readers(config, name) == []


def test_serving_role_names_are_unique_per_environment_and_region():
    config = load_config()
    names = {serving_role_name(env) for env in config.environments.values()}
    assert names == {
        "llm-finetune-local-serving-us-east-1",
        "llm-finetune-dev-serving-us-east-1",
        "llm-finetune-staging-serving-us-east-1",
        "llm-finetune-prod-serving-us-east-1",
    }
    assert all(len(name) <= 64 for name in names)  # IAM's limit
