"""The validation Lambda's settings: the environment's defaults, baked in at deploy time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from contracts import workflow as contract
from costs.estimate import RunResources


class SettingsError(RuntimeError):
    """The function was deployed without a setting it needs (a stack bug, not bad input)."""


@dataclass(frozen=True)
class Settings:
    """Where runs write, which code and libraries they run, and the defaults for optional
    input fields.

    ``code_uri`` is the code tarball's object; ``wheels_uri`` the S3 prefix holding the wheels
    of the locked job libraries (``stacks/workflow/job_wheels.py``); ``run_resources`` what a
    run launches, which its cost estimate prices (None: the plan says the estimate is
    unavailable).
    """

    artifacts_bucket: str
    data_bucket: str
    code_uri: str
    wheels_uri: str
    training_instance_count: int
    default_metric: str
    default_threshold: float
    default_max_samples: int
    internet_access: bool
    default_compare_with: str = contract.NO_COMPARISON
    default_min_improvement: float = 0.0
    run_resources: RunResources | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Reads the variables the stack sets (``contracts.workflow.ENV_*``).

        Raises:
            SettingsError: naming the variable that is missing or malformed.
        """

        def get(name: str) -> str:
            value = environ.get(name, "")
            if not value:
                raise SettingsError(f"environment variable {name} is not set")
            return value

        def number(name: str, kind: type) -> int | float:
            try:
                return kind(get(name))
            except ValueError:
                raise SettingsError(f"{name}={environ[name]!r} is not a {kind.__name__}") from None

        return cls(
            artifacts_bucket=get(contract.ENV_ARTIFACTS_BUCKET),
            data_bucket=get(contract.ENV_DATA_BUCKET),
            code_uri=get(contract.ENV_CODE_URI),
            wheels_uri=get(contract.ENV_WHEELS_URI),
            training_instance_count=int(number(contract.ENV_TRAINING_INSTANCE_COUNT, int)),
            default_metric=get(contract.ENV_DEFAULT_METRIC),
            default_threshold=float(number(contract.ENV_DEFAULT_THRESHOLD, float)),
            default_max_samples=int(number(contract.ENV_DEFAULT_MAX_SAMPLES, int)),
            internet_access=get(contract.ENV_INTERNET_ACCESS) == "true",
            default_compare_with=environ.get(
                contract.ENV_DEFAULT_COMPARE_WITH, contract.NO_COMPARISON
            ),
            default_min_improvement=float(number(contract.ENV_DEFAULT_MIN_IMPROVEMENT, float))
            if environ.get(contract.ENV_DEFAULT_MIN_IMPROVEMENT)
            else 0.0,
            run_resources=_resources(get(contract.ENV_RUN_RESOURCES)),
        )


def _resources(text: str) -> RunResources:
    try:
        return RunResources.from_json(json.loads(text))
    except ValueError as error:
        raise SettingsError(f"{contract.ENV_RUN_RESOURCES}: {error}") from None
