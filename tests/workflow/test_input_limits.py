"""The validation Lambda refuses what train.py and preparation would refuse, with short messages:
train.py's own ranges, S3 keys as S3 and SageMaker take them, run names that stay distinct, a
dataset's field mapping, and quoted values cut to a readable length."""

from __future__ import annotations

import json

import pytest
import run_plan
import validate_input
from config_loader import build_config
from config_values import ConfigError
from execution_input import InvalidInputError, normalise

from contracts import workflow as contract
from tests.workflow.lambda_settings import RESOURCES_JSON, SETTINGS

GOOD = {
    "base_model": "s3://data-bucket/models/smollm2",
    "dataset": {"s3_uri": "s3://data-bucket/datasets/sql.jsonl"},
    "recipe": "lora",
}


@pytest.fixture
def environment(monkeypatch):
    """The Lambda's environment, as the stack sets it, holding SETTINGS."""
    for name, value in {
        contract.ENV_ARTIFACTS_BUCKET: SETTINGS.artifacts_bucket,
        contract.ENV_DATA_BUCKET: SETTINGS.data_bucket,
        contract.ENV_CODE_URI: SETTINGS.code_uri,
        contract.ENV_WHEELS_URI: SETTINGS.wheels_uri,
        contract.ENV_TRAINING_INSTANCE_COUNT: "1",
        contract.ENV_DEFAULT_METRIC: SETTINGS.default_metric,
        contract.ENV_DEFAULT_THRESHOLD: str(SETTINGS.default_threshold),
        contract.ENV_DEFAULT_MAX_SAMPLES: str(SETTINGS.default_max_samples),
        contract.ENV_INTERNET_ACCESS: "true",
        contract.ENV_RUN_RESOURCES: RESOURCES_JSON,
    }.items():
        monkeypatch.setenv(name, value)


def _problems(raw: dict, execution: str = "exec-1") -> list[str]:
    with pytest.raises(InvalidInputError) as error:
        normalise(raw, execution, SETTINGS)
    return error.value.problems


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("learning_rate", -0.0002),
        ("num_train_epochs", -3),
        ("per_device_train_batch_size", 1e18),
        ("max_seq_length", 1e12),
        ("seed", 2**40),
        ("warmup_ratio", 1.5),
        ("lr_scheduler_type", "cosin"),
    ],
)
def test_impossible_hyperparameters_are_refused_as_train_py_refuses_them(name, value):
    (problem,) = _problems({**GOOD, "hyperparameters": {name: value}})
    with pytest.raises(ConfigError) as train_py:
        build_config(["--recipe", "lora", f"--{name}", str(value)])
    # The same check, the same words: the field takes the place of the setting's name.
    assert problem == f"hyperparameters.{name}: {str(train_py.value).removeprefix(name + ' ')}"


def test_the_limits_are_the_ones_train_py_declares():
    assert _problems({**GOOD, "hyperparameters": {"max-seq-length": 1e12}}) == [
        "hyperparameters.max-seq-length: must be in [16, 1048576], got 1000000000000"
    ]
    run = normalise({**GOOD, "hyperparameters": {"max_seq_length": 1048576}}, "e", SETTINGS)
    assert run["hyperparameters"] == {"max_seq_length": 1048576}


def test_a_huge_value_is_cut_in_the_message_and_the_log_line(capsys, environment):
    huge = "x" * 1_000_000
    bad = {**GOOD, "recipe": huge, "run_name": 7, "base_model": huge, "evaluation": {huge: 1}}
    problems = _problems(bad)
    assert all(len(problem) < 400 for problem in problems), [len(p) for p in problems]
    assert any("xxxx...' (1,000,000 characters)" in problem for problem in problems)
    with pytest.raises(InvalidInputError):
        validate_input.handler({"input": bad, "execution_name": "e"})
    assert len(capsys.readouterr().out) < 3000


@pytest.mark.parametrize(
    "key",
    ["datasets/my data/sql 2026.jsonl", "datasets/été/données.csv", "a+b=c&d?e#f%20g.jsonl"],
)
def test_an_s3_key_with_spaces_or_any_characters_s3_takes_is_accepted(key):
    raw = {**GOOD, "dataset": {"s3_uri": f"s3://data-bucket/{key}"}}
    planned = run_plan.plan(normalise(raw, "exec-1", SETTINGS), SETTINGS)
    (data,) = [i for i in planned["prepare"]["inputs"] if i["InputName"] == "data"]
    assert data["S3Input"]["S3Uri"] == f"s3://data-bucket/{key}"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("s3://data-bucket/line\nbreak.jsonl", "its key holds a line break, which SageMaker"),
        ("s3://data-bucket/" + "k" * 1100, "is 1,117 characters long; SageMaker takes at most"),
        ("s3://data-bucket/", "names the bucket data-bucket but no object or prefix in it"),
        ("s3://Data_Bucket/x", "'Data_Bucket' is not a bucket name (3 to 63 lowercase"),
    ],
)
def test_an_s3_uri_that_is_refused_says_why(uri, why):
    (problem,) = _problems({**GOOD, "dataset": {"s3_uri": uri}})
    assert problem.startswith("dataset.s3_uri: ") and why in problem
    assert len(problem) < 300


@pytest.mark.parametrize("run_name", ["sql-训练-v2", "sql-評価-v2", "café"])
def test_a_run_name_that_would_lose_characters_is_refused(run_name):
    (problem,) = _problems({**GOOD, "run_name": run_name})
    assert problem.startswith("run_name: has characters a SageMaker name cannot hold (")
    assert "dropping them could give another run's name" in problem


def test_case_and_punctuation_still_make_a_run_name():
    assert normalise({**GOOD, "run_name": "SQL run #2"}, "e", SETTINGS)["run_name"] == "SQL-run-2"


def test_a_field_mapping_reaches_preparation_with_the_run_s_length_settings():
    raw = {
        **GOOD,
        "dataset": {**GOOD["dataset"], "fields": {"answer": "sql", "question": "the question"}},
        "hyperparameters": {"max-seq-length": 2048, "truncate": True, "learning_rate": 1e-4},
    }
    arguments = run_plan.plan(normalise(raw, "e", SETTINGS), SETTINGS)["prepare"]["arguments"]
    assert arguments[arguments.index("--recipe") + 1] == "lora"
    assert arguments[-4:] == [
        "--field=answer=sql",
        "--field=question=the question",
        "--max-seq-length=2048",
        "--truncate=true",
    ]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"anwser": "sql"},
            "dataset.fields.anwser: is not a record field (did you mean 'answer'?)",
        ),
        ({"answer": ""}, "dataset.fields.answer: must name a column, got ''"),
        ({"answer": 3}, "dataset.fields.answer: must name a column, got 3"),
        ({"answer": "a", "question": "a"}, "dataset.fields.question: column 'a' is already read"),
        ({"answer": "x\ny"}, "dataset.fields.answer: a column name with a line break cannot"),
        ("answer=sql", 'dataset.fields: must be an object of field: column, such as {"answer"'),
    ],
)
def test_a_bad_field_mapping_is_refused(fields, problem):
    problems = _problems({**GOOD, "dataset": {**GOOD["dataset"], "fields": fields}})
    assert any(p.startswith(problem) for p in problems), problems


def test_an_unknown_key_gets_a_suggestion():
    (problem,) = _problems({**GOOD, "evaluation": {"treshold": 0.5}})
    assert problem.startswith("evaluation.treshold: unknown key; allowed keys are metric")
    assert problem.endswith("(did you mean 'threshold'?)")


def test_the_logged_rejection_is_the_list_of_problems(capsys, environment):
    with pytest.raises(InvalidInputError):
        validate_input.handler({"input": {**GOOD, "recipe": "x"}, "execution_name": "e"})
    logged = json.loads(capsys.readouterr().out)
    assert logged == {
        "accepted": False,
        "problems": ["recipe: must be one of lora, qlora, full, got 'x'"],
    }
