"""The pieces ``execution_input`` checks with: the error type and a problem collector."""

from __future__ import annotations

import re
from typing import Any

import workflow_contract as contract
from run_settings import Settings

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)$")


class InvalidInputError(Exception):
    """The execution input breaks the contract; ``problems`` lists each one with its field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(
            f"The execution input is not valid (contract: docs/execution-input.md):\n{listed}"
        )


def kind(value: Any) -> str:
    """What a JSON value is, in words, for messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


class Checker:
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
        """An S3 URI the project's SageMaker role may read: the data bucket, or the artifacts
        bucket's runs/ and kept models/."""
        if not isinstance(value, str) or not _S3_URI.match(value):
            self.fail(field, f"must be an S3 URI like s3://bucket/key, got {value!r}")
            return None
        match = _S3_URI.match(value)
        bucket, key = match["bucket"], match["key"]
        artifacts = bucket == self.settings.artifacts_bucket and key.startswith(
            (contract.RUNS_PREFIX, contract.KEPT_MODELS_PREFIX)
        )
        if bucket != self.settings.data_bucket and not artifacts:
            self.fail(
                field,
                f"the training jobs can only read s3://{self.settings.data_bucket}/ and "
                f"s3://{self.settings.artifacts_bucket}/{contract.RUNS_PREFIX} or "
                f"{contract.KEPT_MODELS_PREFIX}; copy the data there, got {value!r}",
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
