"""Checks an execution's input against the contract in docs/execution-input.md.

Every problem is collected, so one failed start lists all of them. The result is the input with
defaults filled in and a ``run_name`` that SageMaker accepts in every resource name of the run.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import workflow_contract as contract
from run_settings import Settings

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
_HYPERPARAMETER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class InvalidInputError(Exception):
    """The execution input breaks the contract; ``problems`` lists each one with its field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(
            f"The execution input is not valid (contract: docs/execution-input.md):\n{listed}"
        )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def sanitise_run_name(raw: str) -> str:
    """``raw`` made into a SageMaker name part: [a-zA-Z0-9-], at most RUN_NAME_MAX characters.

    A name that has to be shortened keeps a hash of the original, so two long names that share
    a beginning still give different runs.
    """
    name = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]+", "-", raw)).strip("-")
    if len(name) > contract.RUN_NAME_MAX:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = f"{name[: contract.RUN_NAME_MAX - 9].rstrip('-')}-{digest}"
    return name


class _Checker:
    """Collects problems while reading one input."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.problems: list[str] = []

    def fail(self, field: str, problem: str) -> None:
        self.problems.append(f"{field}: {problem}")

    def choice(self, field: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)}, got {value!r}")
            return None
        return value

    def keys(self, field: str | None, value: dict, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                where = f"{field}.{key}" if field else str(key)
                self.fail(where, f"unknown key; allowed keys are {', '.join(allowed)}")

    def readable_s3(self, field: str, value: Any) -> str | None:
        """An S3 URI the project's SageMaker role may read: the data bucket or artifacts runs/."""
        if not isinstance(value, str) or not _S3_URI.match(value):
            self.fail(field, f"must be an S3 URI like s3://bucket/key, got {value!r}")
            return None
        match = _S3_URI.match(value)
        bucket, key = match["bucket"], match["key"]
        artifacts = bucket == self.settings.artifacts_bucket and key.startswith(
            contract.RUNS_PREFIX
        )
        if bucket != self.settings.data_bucket and not artifacts:
            self.fail(
                field,
                f"the training jobs can only read s3://{self.settings.data_bucket}/ and "
                f"s3://{self.settings.artifacts_bucket}/{contract.RUNS_PREFIX}; "
                f"copy the data there, got {value!r}",
            )
            return None
        return value

    def needs_internet(self, field: str, what: str) -> None:
        if not self.settings.internet_access:
            self.fail(
                field,
                f"{what} needs internet access, which this environment's jobs do not have "
                "(network.vpc / network.network_isolation); copy it to S3 and give an s3:// URI",
            )


def normalise(raw: Any, execution_name: str, settings: Settings) -> dict[str, Any]:
    """The validated input with defaults filled in.

    Raises:
        InvalidInputError: listing every problem, each with its field.
    """
    if not isinstance(raw, dict):
        raise InvalidInputError([f"the input must be a JSON object, got {_kind(raw)}"])
    check = _Checker(settings)
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
    if check.problems:
        raise InvalidInputError(check.problems)
    return run


def _run_name(check: _Checker, value: Any, execution_name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        check.fail("run_name", f"must be a string, got {_kind(value)}")
        return None
    name = sanitise_run_name(execution_name if value is None else value)
    if not name:
        check.fail("run_name", f"needs at least one letter or digit, got {value!r}")
        return None
    return name


def _base_model(check: _Checker, value: Any) -> str | None:
    if value is None:
        check.fail("base_model", "is required: an s3:// model prefix or a Hugging Face model id")
    elif isinstance(value, str) and value.startswith("s3://"):
        uri = check.readable_s3("base_model", value)
        return uri if uri is None or uri.endswith("/") else uri + "/"
    elif not isinstance(value, str) or "://" in value or not _HUB_ID.match(value):
        check.fail(
            "base_model",
            "must be an S3 prefix (s3://bucket/prefix/) or a Hugging Face model id "
            f"(organisation/name), got {value!r}",
        )
    else:
        check.needs_internet("base_model", f"downloading {value!r} from the Hugging Face Hub")
        return value
    return None


def _dataset(check: _Checker, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        check.fail("dataset", f"is required: an object with s3_uri or hf_dataset_id, got {value!r}")
        return None
    check.keys("dataset", value, ("s3_uri", "hf_dataset_id", "format", "on_bad_record"))
    fmt = value.get("format", "auto")
    on_bad_record = value.get("on_bad_record", "fail")
    dataset: dict[str, Any] = {
        "format": check.choice("dataset.format", fmt, contract.DATASET_FORMATS),
        "on_bad_record": check.choice(
            "dataset.on_bad_record", on_bad_record, contract.BAD_RECORD_POLICIES
        ),
    }
    if ("s3_uri" in value) == ("hf_dataset_id" in value):
        check.fail("dataset", "needs exactly one of s3_uri and hf_dataset_id")
    elif "s3_uri" in value:
        dataset["s3_uri"] = check.readable_s3("dataset.s3_uri", value["s3_uri"])
    elif not isinstance(hub_id := value["hf_dataset_id"], str) or not _HUB_ID.match(hub_id):
        check.fail("dataset.hf_dataset_id", f"must look like organisation/name, got {hub_id!r}")
    else:
        dataset["hf_dataset_id"] = hub_id
        check.needs_internet("dataset.hf_dataset_id", "a Hugging Face dataset")
    return dataset


def _hyperparameters(check: _Checker, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.fail("hyperparameters", f"must be an object of name: value, got {_kind(value)}")
        return {}
    room = contract.MAX_HYPERPARAMETERS - len(contract.RESERVED_HYPERPARAMETERS) - 3
    if len(value) > room:
        check.fail("hyperparameters", f"at most {room} overrides, got {len(value)}")
    for key, item in value.items():
        field = f"hyperparameters.{key}"
        reserved = key.startswith(contract.RESERVED_HYPERPARAMETER_PREFIX)
        if reserved or key in contract.RESERVED_HYPERPARAMETERS:
            check.fail(field, "is set by the workflow and cannot be overridden")
        elif not _HYPERPARAMETER.match(key) or len(key) > contract.MAX_HYPERPARAMETER_KEY:
            check.fail(field, "names must be letters, digits, '_', '.' or '-'")
        elif item is None or isinstance(item, dict | list):
            check.fail(field, f"must be a string, number or boolean, got {_kind(item)}")
        elif len(str(item)) > contract.MAX_HYPERPARAMETER_VALUE:
            check.fail(field, f"longer than {contract.MAX_HYPERPARAMETER_VALUE} characters")
    return value


def _evaluation(check: _Checker, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.fail("evaluation", f"must be an object, got {_kind(value)}")
        return {}
    check.keys("evaluation", value, ("metric", "threshold", "max_samples"))
    settings = check.settings
    metric = value.get("metric", settings.default_metric)
    threshold = value.get("threshold", settings.default_threshold)
    max_samples = value.get("max_samples", settings.default_max_samples)
    check.choice("evaluation.metric", metric, contract.METRICS)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        check.fail("evaluation.threshold", f"must be a number, got {_kind(threshold)}")
    elif not 0 <= threshold <= 1:
        check.fail("evaluation.threshold", f"must be between 0 and 1, got {threshold}")
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        check.fail("evaluation.max_samples", f"must be a whole number >= 1, got {max_samples!r}")
    return {"metric": metric, "threshold": threshold, "max_samples": max_samples}
