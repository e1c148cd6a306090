"""Checks an execution's input against the contract in docs/execution-input.md.

Every problem is collected, so one failed start lists all of them. The result is the input with
defaults filled in and a ``run_name`` that SageMaker accepts in every resource name of the run.

Hyperparameters are read and range-checked by train.py's own declarations (``train_config``),
and a dataset's field mapping by preparation's (``field_mapping``): those modules of
``training_code/`` are standard library only and travel in the function's bundle
(``stacks/workflow/validator_code.py``).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from typing import Any

import field_mapping
import train_config
from comparison import comparisons
from config_values import ConfigError, shown
from input_checks import Checker, InvalidInputError, kind
from run_settings import Settings

from contracts import workflow as contract
from contracts.workflow import sanitise_run_name

__all__ = ["InvalidInputError", "normalise", "run_name_for", "sanitise_run_name"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
_HYPERPARAMETER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def normalise(raw: Any, execution_name: str, settings: Settings) -> dict[str, Any]:
    """The validated input with defaults filled in.

    Raises:
        InvalidInputError: listing every problem, each with its field.
    """
    if not isinstance(raw, dict):
        raise InvalidInputError([f"the input must be a JSON object, got {kind(raw)}"])
    check = Checker(settings)
    check.keys(None, raw, contract.INPUT_KEYS)
    run = {
        "run_name": _run_name(check, raw.get("run_name"), execution_name),
        "execution_name": execution_name,
        "base_model": _base_model(check, raw.get("base_model")),
        "dataset": _dataset(check, raw.get("dataset")),
        "recipe": check.choice("recipe", raw.get("recipe"), contract.RECIPES),
        "hyperparameters": _hyperparameters(check, raw.get("hyperparameters", {})),
        "evaluation": _evaluation(check, raw.get("evaluation", {})),
    }
    _check_comparison(check, settings, run["base_model"], run["evaluation"])
    if check.problems:
        raise InvalidInputError(check.problems)
    return run


def run_name_for(raw: str) -> str | None:
    """The run name ``raw`` gives, or None where the workflow refuses it.

    A name with characters outside ASCII is refused rather than cleaned: SageMaker names hold
    only ``[a-zA-Z0-9-]``, and dropping the rest would give ``sql-训练-v2`` and ``sql-评估-v2``
    the one run ``sql-v2``. A name without a letter or digit names nothing.
    """
    return (sanitise_run_name(raw) or None) if raw.isascii() else None


def _run_name(check: Checker, value: Any, execution_name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        check.fail("run_name", f"must be a string, got {kind(value)}")
        return None
    given = execution_name if value is None else value
    name = run_name_for(given)
    if name is not None:
        return name
    if given.isascii():
        problem = (
            "has no letter or digit" if value is None else "needs at least one letter or digit"
        )
        advice = ""
    else:
        others = "".join(dict.fromkeys(c for c in given if not c.isascii()))
        problem = (
            f"has characters a SageMaker name cannot hold ({shown(others, 20)}), and dropping "
            "them could give another run's name"
        )
        advice = " with ASCII letters, digits and '-'"
    if value is None:
        check.fail(
            "run_name",
            f"the execution name {shown(execution_name)}, which names the run when run_name is "
            f"not given, {problem}: set run_name{advice}",
        )
    elif advice:
        check.fail("run_name", f"{problem}: name the run{advice}, got {shown(value)}")
    else:
        check.fail("run_name", f"{problem}, got {shown(value)}")
    return None


def _base_model(check: Checker, value: Any) -> str | None:
    if value is None:
        check.fail("base_model", "is required: an s3:// model prefix or a Hugging Face model id")
    elif isinstance(value, str) and value.startswith("s3://"):
        uri = check.readable_s3("base_model", value)
        return uri if uri is None or uri.endswith("/") else uri + "/"
    elif not isinstance(value, str) or "://" in value or not _HUB_ID.match(value):
        check.fail(
            "base_model",
            "must be an S3 prefix (s3://bucket/prefix/) or a Hugging Face model id "
            f"(organisation/name), got {shown(value)}",
        )
    else:
        check.needs_internet("base_model", f"downloading {shown(value)} from the Hugging Face Hub")
        return value
    return None


def _dataset(check: Checker, value: Any) -> dict[str, Any] | None:
    if value is None:
        check.fail("dataset", "is required: an object with s3_uri or hf_dataset_id")
        return None
    if not isinstance(value, dict):
        check.fail(
            "dataset",
            f'must be an object such as {{"s3_uri": "s3://bucket/data.jsonl"}}, got {kind(value)}',
        )
        return None
    check.keys("dataset", value, ("s3_uri", "hf_dataset_id", "format", "on_bad_record", "fields"))
    fmt = value.get("format", "auto")
    on_bad_record = value.get("on_bad_record", "fail")
    dataset: dict[str, Any] = {
        "format": check.choice("dataset.format", fmt, contract.DATASET_FORMATS),
        "on_bad_record": check.choice(
            "dataset.on_bad_record", on_bad_record, contract.BAD_RECORD_POLICIES
        ),
    }
    if "fields" in value:
        dataset["fields"] = value["fields"]
        for field, problem in field_mapping.problems(value["fields"]):
            check.fail("dataset.fields" + (f".{field}" if field else ""), problem)
    if ("s3_uri" in value) == ("hf_dataset_id" in value):
        check.fail("dataset", "needs exactly one of s3_uri and hf_dataset_id")
    elif "s3_uri" in value:
        dataset["s3_uri"] = check.readable_s3("dataset.s3_uri", value["s3_uri"])
    elif not isinstance(hub_id := value["hf_dataset_id"], str) or not _HUB_ID.match(hub_id):
        check.fail(
            "dataset.hf_dataset_id", f"must look like organisation/name, got {shown(hub_id)}"
        )
    else:
        dataset["hf_dataset_id"] = hub_id
        check.needs_internet("dataset.hf_dataset_id", "a Hugging Face dataset")
    return dataset


def _hyperparameters(check: Checker, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.fail("hyperparameters", f"must be an object of name: value, got {kind(value)}")
        return {}
    room = contract.MAX_HYPERPARAMETERS - _SET_BY_THE_WORKFLOW
    if len(value) > room:
        check.fail("hyperparameters", f"at most {room} overrides, got {len(value)}")
    spelled: dict[str, str] = {}
    settings = train_config.key_sections()
    for key, item in value.items():
        field = f"hyperparameters.{key if len(key) <= 40 else shown(key, 40)}"
        name = key.replace("-", "_")  # as train.py reads it
        if name in spelled:
            check.fail(field, f"is {shown(spelled[name], 40)} again: give each setting once")
            continue
        spelled[name] = key
        if name.startswith(contract.RESERVED_HYPERPARAMETER_PREFIX) or (
            name in contract.RESERVED_HYPERPARAMETERS
        ):
            check.fail(field, "is set by the workflow and cannot be overridden")
        elif not _HYPERPARAMETER.match(key) or len(key) > contract.MAX_HYPERPARAMETER_KEY:
            check.fail(field, "names must be letters, digits, '_', '.' or '-'")
        elif name not in settings:
            close = difflib.get_close_matches(name, settings, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            check.fail(field, f"is not a train.py setting{hint}; see docs/training.md")
        elif item is None or isinstance(item, dict | list):
            check.fail(field, f"must be a string, number or boolean, got {kind(item)}")
        elif isinstance(item, str) and not item.strip():
            check.fail(field, "must not be empty")
        elif len(str(item)) > contract.MAX_HYPERPARAMETER_VALUE:
            check.fail(field, f"longer than {contract.MAX_HYPERPARAMETER_VALUE} characters")
        else:
            try:
                train_config.check_setting(name, item)
            except ConfigError as error:  # "<name> must be ...": the field names the setting
                check.fail(field, str(error).removeprefix(f"{name} "))
    return value


# The workflow's own training hyperparameters: sagemaker_program, sagemaker_submit_directory,
# recipe, checkpoint_dir, model_name_or_path or base_model_reference,
# sagemaker_torch_distributed_enabled.
_SET_BY_THE_WORKFLOW = 6


def _evaluation(check: Checker, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.fail("evaluation", f"must be an object, got {kind(value)}")
        return {}
    check.keys(
        "evaluation",
        value,
        (
            "metric",
            "threshold",
            "max_samples",
            "max_tokens",
            "compare_with",
            "compare_with_base",
            "min_improvement",
        ),
    )
    settings = check.settings
    metric = value.get("metric", settings.default_metric)
    threshold = value.get("threshold", settings.default_threshold)
    max_samples = value.get("max_samples", settings.default_max_samples)
    max_tokens = value.get("max_tokens", contract.DEFAULT_EVAL_MAX_TOKENS)
    check.choice("evaluation.metric", metric, contract.METRICS)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        check.fail("evaluation.threshold", f"must be a number, got {kind(threshold)}")
    elif not 0 <= threshold <= 1:
        check.fail("evaluation.threshold", f"must be between 0 and 1, got {threshold}")
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        check.fail(
            "evaluation.max_samples", f"must be a whole number >= 1, got {shown(max_samples)}"
        )
    if (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= contract.MAX_EVAL_MAX_TOKENS
    ):
        check.fail(
            "evaluation.max_tokens",
            f"must be a whole number from 1 to {contract.MAX_EVAL_MAX_TOKENS}, "
            f"got {shown(max_tokens)}",
        )
    return {
        "metric": metric,
        "threshold": threshold,
        "max_samples": max_samples,
        "max_tokens": max_tokens,
        **comparisons(check, value),
    }


def _check_comparison(
    check: Checker, settings: Settings, base_model: str | None, evaluation: dict[str, Any]
) -> None:
    """The base endpoint serves the base model from S3, as the evaluation endpoint serves the
    fine-tuned one: a Hub id has no S3 prefix to serve. Its read-only role reads the data
    bucket and, of the artifacts bucket, only the runs' kept models (``contract.MODEL_OBJECTS``)."""
    if not (evaluation.get("compare_with_base") and base_model):
        return
    if not base_model.startswith("s3://"):
        check.fail(
            "evaluation.compare_with",
            f"base needs an s3:// base_model: the base endpoint loads the model from S3, and "
            f"{shown(base_model)} is a Hugging Face Hub id; copy the model to the data bucket and "
            "give its s3:// prefix, or leave base out of compare_with",
        )
        return
    bucket, _, key = base_model.removeprefix("s3://").partition("/")
    if bucket == settings.artifacts_bucket and not fnmatch.fnmatchcase(key, contract.MODEL_OBJECTS):
        check.fail(
            "evaluation.compare_with",
            f"base: the base endpoint reads only the data bucket and earlier runs' kept models "
            f"(s3://{bucket}/{contract.KEPT_MODELS_PREFIX}{contract.RUNS_PREFIX}<run>/...), and "
            f"{shown(base_model)} is elsewhere in the artifacts bucket; copy the model to the data "
            "bucket, or leave base out of compare_with",
        )
