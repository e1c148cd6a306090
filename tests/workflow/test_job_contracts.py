"""The run plan's job arguments and hyperparameters are what the entry points accept.

The plan is built by the validation Lambda; the scripts are ``training_code``'s. Arguments are
parsed by the scripts' own parsers, and hyperparameters go through the sagemaker-training
toolkit's ``--key value`` conversion (as the local cloud mirrors it) into ``train.py``'s config.
"""

from __future__ import annotations

import config_loader
import evaluation
import prepare_data
import pytest
import run_plan
from execution_input import InvalidInputError, normalise
from run_settings import Settings

from localcloud.sagemaker import contract as toolkit

SETTINGS = Settings(
    artifacts_bucket="artifacts-bucket",
    data_bucket="data-bucket",
    code_uri="s3://assets/code.gz",
    wheels_uri="s3://assets/0123abcd/",
    training_instance_count=2,
    default_metric="rouge_l",
    default_threshold=0.4,
    default_max_samples=25,
    internet_access=True,
)


def _plan(**changes) -> dict:
    raw = {
        "run_name": "contract",
        "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "dataset": {"s3_uri": "s3://data-bucket/d.csv", "format": "csv", "on_bad_record": "skip"},
        "recipe": "qlora",
        "hyperparameters": {"max_steps": 5},
        **changes,
    }
    return run_plan.plan(normalise(raw, "e", SETTINGS), SETTINGS)


def test_prepare_data_accepts_the_plan_arguments():
    args = prepare_data.parse_args(_plan()["prepare"]["arguments"])
    assert (args.format, args.on_bad_record) == ("csv", "skip")
    assert str(args.input_dir) == "/opt/ml/processing/input/data"
    assert str(args.output_dir) == "/opt/ml/processing/output"
    hub = _plan(dataset={"hf_dataset_id": "b-mc2/sql-create-context"})
    assert prepare_data.parse_args(hub["prepare"]["arguments"]).dataset_id == (
        "b-mc2/sql-create-context"
    )


def test_evaluation_accepts_the_plan_arguments():
    args = evaluation.parse_args(_plan()["evaluate"]["arguments"])
    assert args.endpoint_name == "contract-eval"
    assert (args.metric, args.threshold, args.max_samples) == ("rouge_l", 0.4, 25)
    # The workflow's default is the evaluation's own default.
    assert (
        args.max_tokens
        == evaluation.parse_args(
            ["--endpoint-name", "x", "--test-dir", "t", "--output-dir", "o"]
        ).max_tokens
        == 128
    )
    assert str(args.test_dir) == "/opt/ml/processing/input/test"
    assert args.baseline_endpoint_name is None
    compared = _plan(
        base_model="s3://data-bucket/models/base/", evaluation={"compare_with_base": True}
    )
    args = evaluation.parse_args(compared["evaluate"]["arguments"])
    assert (args.endpoint_name, args.baseline_endpoint_name) == ("contract-eval", "contract-base")
    short = _plan(evaluation={"max_tokens": 48})
    assert evaluation.parse_args(short["evaluate"]["arguments"]).max_tokens == 48


def test_train_accepts_the_plan_hyperparameters():
    hyperparameters = _plan()["training"]["hyperparameters"]
    decoded = toolkit.decode(hyperparameters)
    assert toolkit.wants_torchrun(decoded, instance_count=2)
    config = config_loader.build_config(toolkit.to_cmd_args(toolkit.user_hyperparameters(decoded)))
    assert config.recipe == "qlora"
    assert config.model.model_name_or_path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_a_misspelt_override_fails_at_the_start_and_in_train_not_silently():
    with pytest.raises(InvalidInputError, match=r"hyperparameters\.max_stepz: is not a train\.py"):
        _plan(hyperparameters={"max_stepz": 1})
    # train.py refuses it too, for a job started some other way than the workflow.
    hyperparameters = _plan()["training"]["hyperparameters"] | {"max_stepz": "1"}
    decoded = toolkit.user_hyperparameters(toolkit.decode(hyperparameters))
    with pytest.raises(config_loader.ConfigError, match="max_stepz"):
        config_loader.build_config(toolkit.to_cmd_args(decoded))
