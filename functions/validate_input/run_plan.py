"""Turns a validated input into the per-run parts of the run's SageMaker requests.

The state machine holds everything that is the same for every run (images, instance types,
roles, keys, network); this module adds what depends on the input: resource names, the run's
S3 locations, the job inputs and arguments, and the training hyperparameters. Fragments that
hold lists whose length varies with the input (a ``model`` channel only for an S3 base model)
are built here because the state language cannot concatenate lists.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from plan_cost import cost_estimate
from run_settings import Settings

from contracts import workflow as contract


def _processing_input(name: str, s3_uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": s3_uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _channel(name: str, s3_uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": s3_uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "CompressionType": "None",
    }


def _job_inputs(settings: Settings) -> list[dict[str, Any]]:
    """The code tarball and the job libraries' wheels, which both Processing jobs get."""
    return [
        _processing_input(contract.CODE_INPUT, settings.code_uri, contract.PROCESSING_CODE_DIR),
        _processing_input(
            contract.WHEELS_INPUT, settings.wheels_uri, contract.PROCESSING_WHEELS_DIR
        ),
    ]


def submit_directory(code_uri: str) -> str:
    """Where the training job finds the code tarball: in its ``code`` channel's folder.

    A channel whose S3 prefix is one object's key holds that object under its file name (the
    SageMaker Python SDK's ``/opt/ml/input/data/code/sourcedir.tar.gz`` for network-isolated
    jobs), and the toolkit unpacks a local tarball as it would a downloaded one
    (``sagemaker_training.files.download_and_extract``).
    """
    file_name = code_uri.rsplit("/", 1)[-1]
    return f"{contract.TRAINING_CHANNELS_DIR}/{contract.CODE_INPUT}/{file_name}"


def hyperparameter_value(value: str | int | float | bool) -> str:
    """SageMaker takes strings; booleans are written the way JSON (and the toolkit) reads them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def plan(run: dict[str, Any], settings: Settings, today: date | None = None) -> dict[str, Any]:
    """``run`` (from ``execution_input.normalise``) plus names, locations, request parts and
    the cost estimate (whose price table's age is judged on ``today``, by default the date)."""
    run_name = run["run_name"]
    names = {key: run_name + suffix for key, suffix in contract.NAME_SUFFIXES.items()}
    key_prefix = f"{contract.RUNS_PREFIX}{run_name}/"
    root = f"s3://{settings.artifacts_bucket}/{key_prefix}"
    uris = {
        "run": root,
        "data": f"{root}data/",
        "checkpoints": f"{root}checkpoints/",
        "model_output": f"{root}{contract.MODEL_FOLDER}",
        "evaluation": f"{root}evaluation/",
        "report": f"{root}evaluation/{contract.REPORT_FILE}",
    }
    report = {
        "bucket": settings.artifacts_bucket,
        "key": f"{key_prefix}evaluation/{contract.REPORT_FILE}",
    }
    # SageMaker writes an uncompressed model to <S3OutputPath><job>/output/model/.
    trained = f"{key_prefix}{contract.MODEL_FOLDER}{names['training_job']}/output/model/"
    uris["kept_model"] = f"s3://{settings.artifacts_bucket}/{contract.KEPT_MODELS_PREFIX}{trained}"
    model_files = {"bucket": settings.artifacts_bucket, "prefix": trained}
    return {
        **run,
        "names": names,
        "uris": uris,
        "report": report,
        "model_files": model_files,
        "prepare": _prepare(run, uris, settings),
        "training": _training(run, uris, settings),
        "evaluate": _evaluate(run, names, uris, settings),
        "cost_estimate": cost_estimate(
            run["evaluation"], settings.run_resources, today or date.today()
        ),
    }


def _prepare(run: dict[str, Any], uris: dict[str, str], settings: Settings) -> dict[str, Any]:
    dataset = run["dataset"]
    inputs = _job_inputs(settings)
    arguments = ["--output-dir", contract.PROCESSING_OUTPUT_DIR]
    if "s3_uri" in dataset:
        inputs.append(_processing_input("data", dataset["s3_uri"], contract.PREPARE_INPUT_DIR))
        arguments += ["--input-dir", contract.PREPARE_INPUT_DIR, "--format", dataset["format"]]
    else:
        arguments += ["--dataset-id", dataset["hf_dataset_id"]]
    arguments += ["--on-bad-record", dataset["on_bad_record"], "--recipe", run["recipe"]]
    fields = dataset.get("fields", {})
    arguments += [f"--field={field}={column}" for field, column in fields.items()]
    # The run's own max_seq_length and truncate, so that preparation checks what training will.
    for key, value in run["hyperparameters"].items():
        if key.replace("-", "_") in ("max_seq_length", "truncate"):
            arguments.append(f"--{key.replace('_', '-')}={hyperparameter_value(value)}")
    return {"inputs": inputs, "arguments": arguments}


def _training(run: dict[str, Any], uris: dict[str, str], settings: Settings) -> dict[str, Any]:
    channels = [
        _channel("train", f"{uris['data']}train/"),
        _channel("validation", f"{uris['data']}validation/"),
        # The code and the libraries come as channels, as the SageMaker Python SDK sends code
        # to network-isolated jobs, since the toolkit cannot download them from inside one.
        _channel(contract.CODE_INPUT, settings.code_uri),
        _channel(contract.WHEELS_INPUT, settings.wheels_uri),
    ]
    hyperparameters = {
        "sagemaker_program": contract.TRAINING_PROGRAM,
        "sagemaker_submit_directory": submit_directory(settings.code_uri),
        "recipe": run["recipe"],
        "checkpoint_dir": contract.CHECKPOINT_DIR,
    }
    if run["base_model"].startswith("s3://"):
        channels.append(_channel("model", run["base_model"]))
        # What an adapter export names as its base, in place of the channel's folder.
        hyperparameters["base_model_reference"] = run["base_model"]
    else:
        hyperparameters["model_name_or_path"] = run["base_model"]
    if settings.training_instance_count > 1:
        # The framework container then starts train.py under torchrun on every instance.
        hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
    for key, value in run["hyperparameters"].items():
        hyperparameters[key] = hyperparameter_value(value)
    return {"channels": channels, "hyperparameters": hyperparameters}


def _evaluate(
    run: dict[str, Any], names: dict[str, str], uris: dict[str, str], settings: Settings
) -> dict[str, Any]:
    evaluation = run["evaluation"]
    inputs = [
        *_job_inputs(settings),
        _processing_input("test", f"{uris['data']}test/", contract.EVALUATE_TEST_DIR),
    ]
    arguments = [
        "--test-dir", contract.EVALUATE_TEST_DIR,
        "--output-dir", contract.PROCESSING_OUTPUT_DIR,
        "--endpoint-name", names["endpoint"],
        "--metric", evaluation["metric"],
        "--threshold", hyperparameter_value(evaluation["threshold"]),
        "--max-samples", str(evaluation["max_samples"]),
        "--max-tokens", str(evaluation["max_tokens"]),
    ]  # fmt: skip
    if evaluation["compare_with_base"]:
        # The same samples go to the base model's endpoint; report.json gets baseline.metrics.
        arguments += ["--baseline-endpoint-name", names["base_endpoint"]]
    planned: dict[str, Any] = {"inputs": inputs, "arguments": arguments}
    if evaluation["compare_with_champion"]:
        # Whether there is a champion is known only once the state machine has looked: it
        # takes these arguments where there is one, and the others (no champion yet) where not.
        planned["arguments"] = [*arguments, "--no-champion"]
        planned["champion_arguments"] = [
            *arguments,
            "--champion-endpoint-name", names["champion_endpoint"],
            "--min-improvement", hyperparameter_value(evaluation["min_improvement"]),
        ]  # fmt: skip
    return planned
