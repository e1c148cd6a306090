"""The input-validation Lambda: the execution input contract, defaults, run names and plan."""

from __future__ import annotations

import json
import re
from pathlib import Path

import execution_input
import pytest
import run_plan
import validate_input
from execution_input import InvalidInputError, normalise, sanitise_run_name
from run_settings import Settings, SettingsError

from contracts import workflow as contract
from tests.workflow.lambda_settings import RESOURCES_JSON, SETTINGS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "execution-input.md"
GOOD = {
    "base_model": "s3://data-bucket/models/smollm2",
    "dataset": {"s3_uri": "s3://data-bucket/datasets/sql.jsonl"},
    "recipe": "qlora",
}


def _problems(raw, settings: Settings = SETTINGS, execution: str = "exec-1") -> list[str]:
    with pytest.raises(InvalidInputError) as error:
        normalise(raw, execution, settings)
    return error.value.problems


def test_defaults_come_from_the_environment():
    run = normalise(GOOD, "exec-1", SETTINGS)
    assert run["run_name"] == "exec-1"
    assert run["base_model"] == "s3://data-bucket/models/smollm2/"
    assert run["dataset"] == {
        "s3_uri": "s3://data-bucket/datasets/sql.jsonl",
        "format": "auto",
        "on_bad_record": "fail",
    }
    assert run["evaluation"] == {
        "metric": "exact_match",
        "threshold": 0.7,
        "max_samples": 1000,
        "max_tokens": 128,
        "compare_with": [],
        "compare_with_base": False,
        "compare_with_champion": False,
        "min_improvement": 0.0,
    }
    assert run["hyperparameters"] == {}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"base_model": None}, "base_model: is required"),
        ({"base_model": "s3:/data-bucket/x"}, "base_model: must be an S3 prefix"),
        ({"base_model": "s3://Bad_Bucket/x"}, "base_model: must be an S3 URI"),
        ({"base_model": "s3://elsewhere/model/"}, "base_model: the training jobs can only read"),
        (
            {"base_model": "s3://artifacts-bucket/data-capture/x"},
            "base_model: the training jobs can only",
        ),
        ({"dataset": {"s3_uri": "https://example.com/x.jsonl"}}, "dataset.s3_uri: must be an S3"),
        ({"dataset": {}}, "dataset: needs exactly one of s3_uri and hf_dataset_id"),
        ({"dataset": {"s3_uri": "s3://data-bucket/x", "hf_dataset_id": "a/b"}}, "exactly one"),
        ({"dataset": {"s3_uri": "s3://data-bucket/x", "format": "xml"}}, "dataset.format: must"),
        ({"dataset": {"s3_uri": "s3://data-bucket/x", "on_bad_record": "ignore"}}, "on_bad_record"),
        ({"dataset": {"s3_uri": "s3://data-bucket/x", "split": 0.8}}, "dataset.split: unknown"),
        ({"recipe": "lorax"}, "recipe: must be one of lora, qlora, full, got 'lorax'"),
        ({"recipe": None}, "recipe: must be one of"),
        ({"evaluation": {"threshold": 1.5}}, "evaluation.threshold: must be between 0 and 1"),
        ({"evaluation": {"threshold": -0.1}}, "evaluation.threshold: must be between 0 and 1"),
        ({"evaluation": {"threshold": True}}, "evaluation.threshold: must be a number"),
        ({"evaluation": {"max_samples": 0}}, "evaluation.max_samples: must be a whole number"),
        ({"evaluation": {"max_tokens": 0}}, "evaluation.max_tokens: must be a whole number from 1"),
        ({"evaluation": {"max_tokens": 9000}}, "from 1 to 8192, got 9000"),
        ({"evaluation": {"max_tokens": "64"}}, "evaluation.max_tokens: must be a whole number"),
        ({"evaluation": {"metric": "bleu"}}, "evaluation.metric: must be one of"),
        ({"evaluation": {"samples": 5}}, "evaluation.samples: unknown key"),
        (
            {"evaluation": {"compare_with_base": "yes"}},
            "evaluation.compare_with_base: must be true or false, got a string",
        ),
        (
            {"evaluation": {"compare_with_base": 1}},
            "evaluation.compare_with_base: must be true or false, got a number",
        ),
        (
            {"evaluation": {"compare": True}},
            "evaluation.compare: unknown key; allowed keys are metric, threshold, max_samples, "
            "max_tokens, compare_with, compare_with_base, min_improvement",
        ),
        ({"hyperparameters": {"recipe": "full"}}, "hyperparameters.recipe: is set by the workflow"),
        ({"hyperparameters": {"sagemaker_program": "x.py"}}, "is set by the workflow"),
        ({"hyperparameters": {"lora_r": [1, 2]}}, "hyperparameters.lora_r: must be a string, num"),
        (
            {"hyperparameters": {"lerning_rate": 1e-4}},
            "hyperparameters.lerning_rate: is not a train.py setting (did you mean 'learning_rate'",
        ),
        ({"hyperparameters": {"epochs": 3}}, "hyperparameters.epochs: is not a train.py setting;"),
        (
            {"hyperparameters": {"lora-alfa": 8}},
            "lora-alfa: is not a train.py setting (did you mean 'lora_alpha'",
        ),
        ({"hyperparameters": {"bad key": 1}}, "names must be letters"),
        # Values are read as train.py reads them, so a wrong one fails before any job starts.
        (
            {"hyperparameters": {"learning_rate": "abc"}},
            "hyperparameters.learning_rate: must be a number, got 'abc'",
        ),
        ({"hyperparameters": {"learning_rate": "inf"}}, "learning_rate: must be a finite number"),
        ({"hyperparameters": {"max_steps": 2.5}}, "max_steps: must be a whole number, got 2.5"),
        ({"hyperparameters": {"lora_r": True}}, "hyperparameters.lora_r: must be a whole number"),
        ({"hyperparameters": {"packing": "maybe"}}, "packing: must be true or false, got 'maybe'"),
        ({"hyperparameters": {"method": " "}}, "hyperparameters.method: must not be empty"),
        # Reserved names with dashes too (train.py reads both), and the container's paths.
        ({"hyperparameters": {"checkpoint-dir": "/x"}}, "checkpoint-dir: is set by the workflow"),
        ({"hyperparameters": {"model_dir": "/x"}}, "hyperparameters.model_dir: is set by the work"),
        (
            {"hyperparameters": {"lora_r": 8, "lora-r": 16}},
            "hyperparameters.lora-r: is 'lora_r' again: give each setting once",
        ),
        ({"hyperparameters": "lr=1"}, "hyperparameters: must be an object"),
        ({"run_name": 7}, "run_name: must be a string"),
        ({"run_name": "__"}, "run_name: needs at least one letter or digit"),
        (
            {"dataset": "s3://data-bucket/x.jsonl"},
            'dataset: must be an object such as {"s3_uri": "s3://bucket/data.jsonl"}, got a str',
        ),
        (
            {"base_model_id": "x"},
            "base_model_id: unknown key; allowed keys are run_name, base_model",
        ),
    ],
)
def test_each_bad_field_is_named(change, expected):
    problems = _problems({**GOOD, **change})
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_listed_at_once():
    problems = _problems({"recipe": "x", "extra": 1})
    assert [p.split(":")[0] for p in problems] == ["extra", "base_model", "dataset", "recipe"]


def test_an_execution_name_that_cannot_name_the_run_says_so():
    (problem,) = _problems(GOOD, execution="_-_")
    assert problem == (
        "run_name: the execution name '_-_', which names the run when run_name is not given, "
        "has no letter or digit: set run_name"
    )


def test_the_input_must_be_an_object():
    assert _problems(["not", "an", "object"]) == ["the input must be a JSON object, got a list"]


def test_hub_ids_need_internet():
    offline = Settings(**{**SETTINGS.__dict__, "internet_access": False})
    hub = {**GOOD, "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct"}
    assert normalise(hub, "e", SETTINGS)["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    (problem,) = _problems(hub, offline)
    assert problem.startswith("base_model: downloading 'HuggingFaceTB/SmolLM2-135M-Instruct'")
    (problem,) = _problems(
        {**GOOD, "dataset": {"hf_dataset_id": "b-mc2/sql-create-context"}}, offline
    )
    assert problem.startswith("dataset.hf_dataset_id: a Hugging Face dataset needs internet")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("my_run 2024.01", "my-run-2024-01"),
        ("--a--b--", "a-b"),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ],
)
def test_run_names_are_sagemaker_safe(raw, expected):
    assert sanitise_run_name(raw) == expected


def test_long_run_names_keep_every_resource_name_valid_and_distinct():
    first, second = sanitise_run_name("x" * 80 + "-a"), sanitise_run_name("x" * 80 + "-b")
    assert first != second
    for name in (first, second):
        assert len(name) == contract.RUN_NAME_MAX
        for suffix in contract.NAME_SUFFIXES.values():
            assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name + suffix)


def test_the_plan_names_resources_and_locations_from_the_run_name():
    planned = run_plan.plan(normalise({**GOOD, "run_name": "demo"}, "e", SETTINGS), SETTINGS)
    assert planned["names"] == {
        "prepare_job": "demo-prepare",
        "training_job": "demo-train",
        "model": "demo-eval",
        "endpoint_config": "demo-eval",
        "endpoint": "demo-eval",
        "base_model": "demo-base",
        "base_endpoint_config": "demo-base",
        "base_endpoint": "demo-base",
        "champion_model": "demo-champion",
        "champion_endpoint_config": "demo-champion",
        "champion_endpoint": "demo-champion",
        "evaluation_job": "demo-evaluate",
    }
    assert planned["uris"]["data"] == "s3://artifacts-bucket/runs/demo/data/"
    assert planned["report"] == {
        "bucket": "artifacts-bucket",
        "key": "runs/demo/evaluation/report.json",
    }
    inputs = {i["InputName"]: i["S3Input"] for i in planned["prepare"]["inputs"]}
    assert inputs["code"]["S3Uri"] == "s3://assets/code.gz"
    assert inputs["data"]["LocalPath"] == contract.PREPARE_INPUT_DIR
    assert planned["evaluate"]["arguments"][-8:] == [
        "--metric", "exact_match", "--threshold", "0.7", "--max-samples", "1000",
        "--max-tokens", "128",
    ]  # fmt: skip
    assert "--baseline-endpoint-name" not in planned["evaluate"]["arguments"]


def test_comparing_with_the_base_model_sends_the_same_samples_to_its_endpoint():
    raw = {**GOOD, "run_name": "demo", "evaluation": {"compare_with_base": True}}
    run = normalise(raw, "e", SETTINGS)
    assert run["evaluation"]["compare_with_base"] is True
    arguments = run_plan.plan(run, SETTINGS)["evaluate"]["arguments"]
    assert arguments[arguments.index("--endpoint-name") + 1] == "demo-eval"
    assert arguments[-2:] == ["--baseline-endpoint-name", "demo-base"]
    off = {**GOOD, "evaluation": {"compare_with_base": False}}
    assert normalise(off, "e", SETTINGS)["evaluation"]["compare_with_base"] is False


def test_comparing_needs_the_base_model_in_s3():
    hub = {**GOOD, "base_model": "org/model", "evaluation": {"compare_with_base": True}}
    (problem,) = _problems(hub)
    assert problem.startswith("evaluation.compare_with: base needs an s3:// base_model")
    assert "'org/model' is a Hugging Face Hub id" in problem
    # A bad base_model is reported once, as itself.
    (problem,) = _problems({**hub, "base_model": "not a model"})
    assert problem.startswith("base_model: must be an S3 prefix")


def test_comparing_needs_a_base_model_the_endpoints_role_reads():
    """The endpoints' read-only role reads the data bucket and only the kept models (models/*)
    of the artifacts bucket; the training jobs read all of runs/."""
    earlier_run = "s3://artifacts-bucket/models/runs/r1/model/r1-train/output/model/"
    as_trained = "s3://artifacts-bucket/runs/r1/model/r1-train/output/model/"
    data_split = "s3://artifacts-bucket/runs/r1/data/train/"
    for base_model in (earlier_run, as_trained, data_split):
        assert normalise({**GOOD, "base_model": base_model}, "e", SETTINGS)
    compared = {**GOOD, "evaluation": {"compare_with_base": True}}
    assert normalise({**compared, "base_model": earlier_run}, "e", SETTINGS)
    for elsewhere in (as_trained, data_split):
        (problem,) = _problems({**compared, "base_model": elsewhere})
        assert problem.startswith(
            "evaluation.compare_with: base: the base endpoint reads only the data bucket and "
            "earlier runs' kept models (s3://artifacts-bucket/models/runs/<run>/...)"
        )


def test_the_base_model_is_a_channel_or_a_hub_id():
    s3 = run_plan.plan(normalise(GOOD, "e", SETTINGS), SETTINGS)["training"]
    assert [c["ChannelName"] for c in s3["channels"]] == [
        "train", "validation", "code", "wheels", "model"
    ]  # fmt: skip
    assert "model_name_or_path" not in s3["hyperparameters"]
    # An adapter export names the S3 prefix, not the channel folder it was read from.
    assert s3["hyperparameters"]["base_model_reference"] == GOOD["base_model"] + "/"
    hub_input = {**GOOD, "base_model": "org/model"}
    hub = run_plan.plan(normalise(hub_input, "e", SETTINGS), SETTINGS)["training"]
    assert [c["ChannelName"] for c in hub["channels"]] == ["train", "validation", "code", "wheels"]
    assert hub["hyperparameters"]["model_name_or_path"] == "org/model"
    assert "base_model_reference" not in hub["hyperparameters"]


def test_hyperparameters_are_strings_and_distribution_follows_instance_count():
    raw = {
        **GOOD,
        "hyperparameters": {
            "learning_rate": 2e-5,
            "num_train_epochs": 3,
            "packing": False,
            "lr-scheduler-type": "linear",  # train.py reads dashes as underscores
        },
    }
    single = run_plan.plan(normalise(raw, "e", SETTINGS), SETTINGS)["training"]["hyperparameters"]
    assert {k: single[k] for k in raw["hyperparameters"]} == {
        "learning_rate": "2e-05",
        "num_train_epochs": "3",
        "packing": "false",
        "lr-scheduler-type": "linear",
    }
    assert single["recipe"] == "qlora"
    assert "sagemaker_torch_distributed_enabled" not in single
    multi = Settings(**{**SETTINGS.__dict__, "training_instance_count": 2})
    several = run_plan.plan(normalise(raw, "e", multi), multi)["training"]["hyperparameters"]
    assert several["sagemaker_torch_distributed_enabled"] == "true"


def test_values_train_py_reads_pass():
    """Each kind's accepted spellings, as config_values.convert reads them."""
    good = {
        "packing": "False",
        "truncate": 1,
        "compile_layers": True,
        "eval_steps": "none",
        "max_train_samples": 200,
        "max_steps": "100",
        "num_train_epochs": 2.5,
        "learning_rate": "2e-4",
        "gradient_accumulation_steps": 4.0,
        "lora_target_modules": "q_proj,v_proj",
    }
    run = normalise({**GOOD, "hyperparameters": good}, "e", SETTINGS)
    assert run["hyperparameters"] == good


def test_the_handler_reads_its_settings_from_the_environment(monkeypatch):
    environ = {
        contract.ENV_ARTIFACTS_BUCKET: "artifacts-bucket",
        contract.ENV_DATA_BUCKET: "data-bucket",
        contract.ENV_CODE_URI: "s3://assets/code.gz",
        contract.ENV_WHEELS_URI: "s3://assets/0123abcd/",
        contract.ENV_TRAINING_INSTANCE_COUNT: "1",
        contract.ENV_DEFAULT_METRIC: "rouge_l",
        contract.ENV_DEFAULT_THRESHOLD: "0.25",
        contract.ENV_DEFAULT_MAX_SAMPLES: "50",
        contract.ENV_INTERNET_ACCESS: "false",
        contract.ENV_RUN_RESOURCES: RESOURCES_JSON,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    planned = validate_input.handler({"input": GOOD, "execution_name": "exec 9"})
    assert planned["run_name"] == "exec-9"
    assert planned["cost_estimate"]["upper_bound"] is True
    assert planned["cost_estimate"]["total_usd"] > 0
    assert planned["evaluation"] == {
        "metric": "rouge_l",
        "threshold": 0.25,
        "max_samples": 50,
        "max_tokens": 128,
        "compare_with": [],
        "compare_with_base": False,
        "compare_with_champion": False,
        "min_improvement": 0.0,
    }
    monkeypatch.setenv(contract.ENV_RUN_RESOURCES, '{"region": "us-east-1"}')
    with pytest.raises(SettingsError, match=r"RUN_RESOURCES: run resources: .*missing"):
        validate_input.handler({"input": GOOD, "execution_name": "e"})
    monkeypatch.setenv(contract.ENV_RUN_RESOURCES, RESOURCES_JSON)
    monkeypatch.setenv(contract.ENV_DEFAULT_THRESHOLD, "high")
    with pytest.raises(SettingsError, match="DEFAULT_THRESHOLD='high' is not a float"):
        validate_input.handler({"input": GOOD, "execution_name": "e"})
    with pytest.raises(ValueError, match="expected"):
        validate_input.handler({"execution_name": "e"})


def test_the_documented_examples_are_valid():
    """Every ```json block in docs/execution-input.md that looks like an input is accepted."""
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    inputs = [json.loads(block) for block in blocks if '"base_model"' in block]
    assert len(inputs) >= 2
    documented = Settings(**{**SETTINGS.__dict__, "data_bucket": "my-data-bucket"})
    for raw in inputs:
        execution_input.normalise(raw, "docs", documented)
