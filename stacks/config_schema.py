"""Typed per-environment configuration: what each field means and which values are valid.

The values live in ``config/environments.yaml``; ``stacks.config`` loads them into these frozen
dataclasses. Each class checks its own fields in ``__post_init__`` and raises ``FieldError``
naming the field, which the loader turns into a message with the file, line and field path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ENVIRONMENT_NAMES = ("local", "dev", "staging", "prod")
EVALUATION_METRICS = ("exact_match", "rouge_l", "execution_match", "sql_valid")
APPROVAL_STATUSES = ("Approved", "PendingManualApproval")

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_INSTANCE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MODEL_PIN = re.compile(
    r"^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[\w-]+/\d+|s3://[a-z0-9.-]{3,63}/.+)$"
)


class FieldError(ValueError):
    """A value that is not valid; ``field`` is the name of the field within its section."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise FieldError(field_name, message)


def _positive(value: int, field_name: str) -> None:
    _check(value >= 1, field_name, f"must be at least 1, got {value}")


@dataclass(frozen=True)
class TrainingConfig:
    """The SageMaker training job."""

    instance_type: str
    instance_count: int = 1
    use_spot: bool = False
    max_runtime_minutes: int = 480
    max_wait_minutes: int | None = None
    volume_size_gb: int = 100

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.2xlarge, got {self.instance_type!r}",
        )
        _positive(self.instance_count, "instance_count")
        _positive(self.max_runtime_minutes, "max_runtime_minutes")
        _positive(self.volume_size_gb, "volume_size_gb")
        if self.use_spot:
            _check(
                self.max_wait_minutes is not None,
                "max_wait_minutes",
                "is required when use_spot is true (how long to wait for spot capacity)",
            )
        if self.max_wait_minutes is not None:
            _check(
                self.max_wait_minutes >= self.max_runtime_minutes,
                "max_wait_minutes",
                f"must be at least max_runtime_minutes ({self.max_runtime_minutes}), "
                f"got {self.max_wait_minutes}",
            )
            _check(self.use_spot, "max_wait_minutes", "only applies when use_spot is true")


@dataclass(frozen=True)
class ProcessingConfig:
    """The data preparation and evaluation Processing jobs."""

    instance_type: str

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.m5.xlarge, got {self.instance_type!r}",
        )


@dataclass(frozen=True)
class EvaluationConfig:
    """The evaluation endpoint and the quality gate."""

    instance_type: str
    metric: str = "exact_match"
    threshold: float = 0.5
    max_samples: int = 200
    endpoint_timeout_minutes: int = 30

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.xlarge, got {self.instance_type!r}",
        )
        _check(
            self.metric in EVALUATION_METRICS,
            "metric",
            f"must be one of {', '.join(EVALUATION_METRICS)}, got {self.metric!r}",
        )
        _check(
            0.0 <= self.threshold <= 1.0,
            "threshold",
            f"must be between 0 and 1, got {self.threshold}",
        )
        _positive(self.max_samples, "max_samples")
        _positive(self.endpoint_timeout_minutes, "endpoint_timeout_minutes")


@dataclass(frozen=True)
class EndpointConfig:
    """The persistent serving endpoint of the pinned model."""

    instance_type: str
    min_instances: int = 1
    max_instances: int = 1
    max_model_len: int = 4096
    max_concurrency: int = 64
    invocations_per_instance: int = 200

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.2xlarge, got {self.instance_type!r}",
        )
        _positive(self.min_instances, "min_instances")
        _check(
            self.max_instances >= self.min_instances,
            "max_instances",
            f"must be at least min_instances ({self.min_instances}), got {self.max_instances}",
        )
        _positive(self.max_model_len, "max_model_len")
        _positive(self.max_concurrency, "max_concurrency")
        _positive(self.invocations_per_instance, "invocations_per_instance")


@dataclass(frozen=True)
class NetworkConfig:
    """Where jobs and endpoints run: a private VPC with endpoints, or SageMaker's own network."""

    vpc: bool = False
    network_isolation: bool = False


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between local, dev, staging and prod."""

    name: str
    account: str
    region: str
    training: TrainingConfig
    processing: ProcessingConfig
    evaluation: EvaluationConfig
    endpoint: EndpointConfig
    network: NetworkConfig = field(default_factory=NetworkConfig)
    retain_data: bool = True
    model_approval: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"
    serving_model: str | None = None
    notification_emails: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check(
            bool(_ACCOUNT.match(self.account)),
            "account",
            f"must be a 12-digit AWS account id in quotes, got {self.account!r}",
        )
        _check(
            bool(_REGION.match(self.region)),
            "region",
            f"must be an AWS region such as us-east-1, got {self.region!r}",
        )
        _check(
            self.model_approval in APPROVAL_STATUSES,
            "model_approval",
            f"must be one of {', '.join(APPROVAL_STATUSES)}, got {self.model_approval!r}",
        )
        if self.serving_model is not None:
            _check(
                bool(_MODEL_PIN.match(self.serving_model)),
                "serving_model",
                "must be a model package version ARN (arn:aws:sagemaker:REGION:ACCOUNT:"
                f"model-package/GROUP/N) or an s3:// model prefix, got {self.serving_model!r}",
            )
        for email in self.notification_emails:
            _check(
                bool(_EMAIL.match(email)),
                "notification_emails",
                f"{email!r} is not an email address",
            )

    @property
    def is_local(self) -> bool:
        return self.name == "local"


@dataclass(frozen=True)
class PipelineConfig:
    """The GitOps pipeline in the tooling account."""

    account: str
    region: str
    connection_arn: str
    repository: str
    branch: str = "main"

    def __post_init__(self) -> None:
        _check(
            bool(_ACCOUNT.match(self.account)),
            "account",
            f"must be a 12-digit AWS account id in quotes, got {self.account!r}",
        )
        _check(
            bool(_REGION.match(self.region)),
            "region",
            f"must be an AWS region such as us-east-1, got {self.region!r}",
        )
        _check(
            self.connection_arn.startswith("arn:aws"),
            "connection_arn",
            f"must be a CodeConnections connection ARN, got {self.connection_arn!r}",
        )
        _check(
            self.repository.count("/") == 1,
            "repository",
            f"must be OWNER/NAME, got {self.repository!r}",
        )


@dataclass(frozen=True)
class ProjectConfig:
    """The whole configuration file."""

    pipeline: PipelineConfig
    environments: dict[str, EnvironmentConfig]

    def environment(self, name: str) -> EnvironmentConfig:
        """The named environment, or an error listing the known ones."""
        if name not in self.environments:
            known = ", ".join(self.environments)
            raise KeyError(f"unknown environment {name!r}: known environments are {known}")
        return self.environments[name]
