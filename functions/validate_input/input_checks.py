"""The pieces ``execution_input`` checks with: the error type and a problem collector.

Quoted values are cut to a readable length (``config_values.shown``): a megabyte value must not
make a megabyte error, notification and log line.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from config_values import shown
from run_settings import Settings

from contracts import workflow as contract

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# SageMaker's S3Uri (botocore's sagemaker service model): at most 1024 characters, pattern
# (https|s3)://([^/]+)/?(.*), whose "." matches no line terminator (Java's: \n, \r, U+0085,
# U+2028, U+2029). S3 itself takes any UTF-8 key of up to 1,024 bytes ("The object key name is
# a sequence of Unicode characters with UTF-8 encoding of up to 1,024 bytes long",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), spaces included.
MAX_S3_URI = 1024
MAX_S3_KEY_BYTES = 1024
_LINE_TERMINATORS = ("\n", "\r", "\x85", "\u2028", "\u2029")
# An unknown key is cut to this many characters where it names the problem's field.
_KEY_SHOWN = 40


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
            self.fail(field, f"must be one of {', '.join(allowed)}, got {shown(value)}")
            return None
        return value

    def keys(self, field: str | None, value: dict, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                name = str(key) if len(str(key)) <= _KEY_SHOWN else shown(str(key), _KEY_SHOWN)
                where = f"{field}.{name}" if field else name
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(where, f"unknown key; allowed keys are {', '.join(allowed)}{hint}")

    def s3_uri(self, field: str, value: Any) -> tuple[str, str] | None:
        """``(bucket, key)`` of an S3 URI SageMaker accepts, or None after saying why not."""
        if not isinstance(value, str) or not value.startswith("s3://"):
            self.fail(field, f"must be an S3 URI like s3://bucket/key, got {shown(value)}")
            return None
        bucket, slash, key = value.removeprefix("s3://").partition("/")
        if not _BUCKET.match(bucket):
            problem = (
                f"must be an S3 URI like s3://bucket/key: {shown(bucket)} is not a bucket name "
                "(3 to 63 lowercase letters, digits, dots and hyphens)"
            )
        elif not slash or not key:
            problem = f"names the bucket {bucket} but no object or prefix in it, such as data/"
        elif any(mark in key for mark in _LINE_TERMINATORS):
            problem = "its key holds a line break, which SageMaker cannot take: rename the object"
        elif len(value) > MAX_S3_URI:
            problem = f"is {len(value):,} characters long; SageMaker takes at most {MAX_S3_URI:,}"
        elif len(key.encode("utf-8")) > MAX_S3_KEY_BYTES:
            problem = f"its key is longer than S3's {MAX_S3_KEY_BYTES:,} bytes"
        else:
            return bucket, key
        self.fail(field, f"{problem}; got {shown(value)}")
        return None

    def readable_s3(self, field: str, value: Any) -> str | None:
        """An S3 URI the project's SageMaker role may read: the data bucket, or the artifacts
        bucket's runs/ and kept models/. Any key S3 and SageMaker take is accepted, spaces and
        other characters included."""
        parsed = self.s3_uri(field, value)
        if parsed is None:
            return None
        bucket, key = parsed
        artifacts = bucket == self.settings.artifacts_bucket and key.startswith(
            (contract.RUNS_PREFIX, contract.KEPT_MODELS_PREFIX)
        )
        if bucket != self.settings.data_bucket and not artifacts:
            self.fail(
                field,
                f"the training jobs can only read s3://{self.settings.data_bucket}/ and "
                f"s3://{self.settings.artifacts_bucket}/{contract.RUNS_PREFIX} or "
                f"{contract.KEPT_MODELS_PREFIX}; copy the data there, got {shown(value)}",
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
