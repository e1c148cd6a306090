"""The champion's configuration: evaluation.compare_with, champion and min_improvement, and where
``evaluation.champion: serving`` takes the champion from."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from run_settings import Settings, SettingsError

from contracts import workflow as contract
from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.workflow.state_machine_role import state_machine_statements
from stacks.workflow.steps.champion import ChampionLookup
from stacks.workflow.steps.common import StepContext
from tests.workflow.template_values import validator_environment

PIN = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/3"


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG_PATH.read_text()
    assert old in text, old
    path = tmp_path / "environments.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_run_compares_with_nothing_by_default():
    evaluation = load_config().environment("dev").evaluation
    assert (evaluation.compare_with, evaluation.champion, evaluation.min_improvement) == (
        "none",
        "registry",
        0.0,
    )


def test_the_champion_settings_load(tmp_path):
    path = _with(
        tmp_path,
        "      endpoint_poll_seconds: 5",
        "      compare_with: champion\n      champion: serving\n      min_improvement: 0.02\n"
        "      endpoint_poll_seconds: 5",
    )
    evaluation = load_config(path).environment("local").evaluation
    assert (evaluation.compare_with, evaluation.champion, evaluation.min_improvement) == (
        "champion",
        "serving",
        0.02,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("compare_with: both", r"evaluation\.compare_with: must be one of none, base, champion"),
        ("champion: latest", r"evaluation\.champion: must be one of registry, serving"),
        ("min_improvement: 2", r"evaluation\.min_improvement: must be between 0 and 1"),
    ],
)
def test_bad_champion_settings_name_their_field(tmp_path, line, message):
    path = _with(
        tmp_path, "      endpoint_poll_seconds: 5", f"      {line}\n      endpoint_poll_seconds: 5"
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def _lookup_states(serving_model: str | None) -> dict:
    """The champion look-up's states for ``evaluation.champion: serving`` and this pin."""
    env = load_config().environment("dev")
    config = dataclasses.replace(
        env,
        evaluation=dataclasses.replace(env.evaluation, champion="serving"),
        serving_model=serving_model,
    )
    stack = Stack(App(), "Lookup")
    ctx = StepContext(config, None, "jobs", "endpoints", "key", None)  # type: ignore[arg-type]
    lookup = ChampionLookup(stack, ctx, model_package_group="llm-finetune-dev")
    lookup.then(
        deploy=sfn.Pass(stack, "Deploy"),
        without=sfn.Pass(stack, "Without"),
        failed=sfn.Pass(stack, "Failed"),
    )
    graph = sfn.StateGraph(lookup.start, "champion").to_graph_json()
    return json.loads(json.dumps(stack.resolve(graph)))["States"]


def test_a_served_model_package_is_the_champion():
    states = _lookup_states(PIN)
    assert "Find the champion" not in states
    assert states["Read the champion"]["Parameters"] == {"ModelPackageName": PIN}
    assert states["Compare with the champion?"]["Choices"][0]["Next"] == "Read the champion"


def test_a_served_s3_prefix_is_the_champion_as_it_is():
    pin = "s3://models-bucket/served/"
    states = _lookup_states(pin)
    assert "Read the champion" not in states
    keep = states["Keep the champion's model"]
    assert keep["Parameters"] == {"source": pin, "model_data": pin}
    assert keep["Next"] == "Evaluate against the champion"


def test_with_nothing_served_there_is_no_champion():
    states = _lookup_states(None)
    note = states["Note that there is no champion"]
    assert note["Parameters"]["why"] == "serving_model pins no model in this environment"
    assert note["Next"] == "Without"


def test_the_validation_function_gets_the_environments_defaults(resolver_for):
    environment = validator_environment(resolver_for("local"))
    assert environment[contract.ENV_DEFAULT_COMPARE_WITH] == "none"
    assert environment[contract.ENV_DEFAULT_MIN_IMPROVEMENT] == "0.0"
    settings = Settings.from_environ(
        {**environment, contract.ENV_DEFAULT_COMPARE_WITH: "champion",
         contract.ENV_DEFAULT_MIN_IMPROVEMENT: "0.05"}
    )  # fmt: skip
    assert (settings.default_compare_with, settings.default_min_improvement) == ("champion", 0.05)
    with pytest.raises(SettingsError, match="DEFAULT_MIN_IMPROVEMENT='more' is not a float"):
        Settings.from_environ({**environment, contract.ENV_DEFAULT_MIN_IMPROVEMENT: "more"})


@pytest.mark.parametrize(("pin", "granted"), [(PIN, [PIN]), (None, [])])
def test_the_served_champion_is_the_one_package_the_state_machine_may_read_beyond_its_group(
    pin, granted
):
    stack = Stack(App(), "Roles")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    statements = state_machine_statements(
        stack,
        sagemaker_role=role,
        endpoint_role=role,
        validator_arn="arn:aws:lambda:us-east-1:123456789012:function:v",
        artifacts_arn="arn:aws:s3:::artifacts",
        key=kms.Key(stack, "Key"),
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        model_package_group="llm-finetune-staging",
        champion_pin=pin,
    )
    by_sid = {s.sid: stack.resolve(s.to_statement_json()) for s in statements}
    read = by_sid.get("ReadServedChampion")
    assert ([read["Resource"]] if read else []) == granted
    if read:
        assert read["Action"] == "sagemaker:DescribeModelPackage"
