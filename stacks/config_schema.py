"""Typed per-environment configuration: what each field means and which values are valid.

The values live in ``config/environments.yaml``; ``stacks.config`` loads them into these frozen
dataclasses. Each class checks its own fields in ``__post_init__`` and raises ``FieldError``
naming the field, which the loader turns into a message with the file, line and field path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from stacks.serving.instances import gpus_per_instance

ENVIRONMENT_NAMES = ("local", "dev", "staging", "prod")
# The GitOps pipeline deploys these in order; the release owner approves before the last.
PROMOTION_ORDER = ("dev", "staging", "prod")
# The pipeline smoke-tests this environment's endpoint; prod may only serve what it served.
SMOKE_TESTED_ENVIRONMENT = "staging"
EVALUATION_METRICS = ("exact_match", "rouge_l", "execution_match", "sql_valid")
APPROVAL_STATUSES = ("Approved", "PendingManualApproval")

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_INSTANCE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_IMAGE_URI = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*"
    r"(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$"
)
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


def _check_account_and_region(account: str, region: str) -> None:
    _check(
        bool(_ACCOUNT.match(account)),
        "account",
        f"must be a 12-digit AWS account id in quotes, got {account!r}",
    )
    _check(
        bool(_REGION.match(region)),
        "region",
        f"must be an AWS region such as us-east-1, got {region!r}",
    )


def _positive(value: int, field_name: str) -> None:
    _check(value >= 1, field_name, f"must be at least 1, got {value}")


def _model_package_arn_part(pin: str | None, index: int) -> str | None:
    if pin is None or not pin.startswith("arn:"):
        return None
    return pin.split(":")[index]


def model_package_region(pin: str | None) -> str | None:
    """The region of a model package ARN pin; None for an S3 pin or no pin."""
    return _model_package_arn_part(pin, 3)


def model_package_account(pin: str | None) -> str | None:
    """The account of a model package ARN pin; None for an S3 pin or no pin."""
    return _model_package_arn_part(pin, 4)


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
    max_runtime_minutes: int = 120
    volume_size_gb: int = 30

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.m5.xlarge, got {self.instance_type!r}",
        )
        _positive(self.max_runtime_minutes, "max_runtime_minutes")
        _positive(self.volume_size_gb, "volume_size_gb")


@dataclass(frozen=True)
class ImagesConfig:
    """Images that replace the pinned ones (``stacks/workflow/images.py``); null keeps them."""

    training: str | None = None
    processing: str | None = None
    serving: str | None = None

    def __post_init__(self) -> None:
        for name in ("training", "processing", "serving"):
            uri = getattr(self, name)
            _check(
                uri is None or bool(_IMAGE_URI.match(uri)),
                name,
                "must be an ECR image URI like 123456789012.dkr.ecr.us-east-1.amazonaws.com/"
                f"repository:tag (or @sha256:digest), got {uri!r}",
            )


@dataclass(frozen=True)
class EvaluationConfig:
    """The evaluation endpoint and the quality gate."""

    instance_type: str
    metric: str = "exact_match"
    threshold: float = 0.5
    max_samples: int = 200
    endpoint_timeout_minutes: int = 30
    endpoint_poll_seconds: int = 30

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.xlarge, got {self.instance_type!r}",
        )
        try:  # the evaluation endpoint runs the same GPU serving container
            gpus_per_instance(self.instance_type)
        except ValueError as error:
            raise FieldError("instance_type", str(error)) from None
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
        _positive(self.endpoint_poll_seconds, "endpoint_poll_seconds")


@dataclass(frozen=True)
class EndpointConfig:
    """The persistent serving endpoint of the pinned model."""

    instance_type: str
    min_instances: int = 1
    max_instances: int = 1
    max_model_len: int = 4096
    max_concurrency: int = 64
    invocations_per_instance: int = 200
    data_capture_percent: int = 100
    latency_alarm_seconds: int = 30
    bake_minutes: int = 10

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.2xlarge, got {self.instance_type!r}",
        )
        try:
            gpus_per_instance(self.instance_type)
        except ValueError as error:
            raise FieldError("instance_type", str(error)) from None
        _positive(self.min_instances, "min_instances")
        _check(
            self.max_instances >= self.min_instances,
            "max_instances",
            f"must be at least min_instances ({self.min_instances}), got {self.max_instances}",
        )
        _positive(self.max_model_len, "max_model_len")
        _positive(self.max_concurrency, "max_concurrency")
        _positive(self.invocations_per_instance, "invocations_per_instance")
        _check(
            0 <= self.data_capture_percent <= 100,
            "data_capture_percent",
            f"must be between 0 and 100, got {self.data_capture_percent}",
        )
        _positive(self.latency_alarm_seconds, "latency_alarm_seconds")
        # SageMaker's wait between traffic shifts and before the old fleet goes is at most 1 h.
        _check(
            1 <= self.bake_minutes <= 60,
            "bake_minutes",
            f"must be between 1 and 60, got {self.bake_minutes}",
        )


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
    images: ImagesConfig = field(default_factory=ImagesConfig)
    retain_data: bool = True
    model_approval: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"
    serving_model: str | None = None
    notification_emails: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_account_and_region(self.account, self.region)
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
            pin_region = model_package_region(self.serving_model)
            _check(
                pin_region in (None, self.region),
                "serving_model",
                f"is a model package in {pin_region}, but this environment runs in "
                f"{self.region}: SageMaker serves model packages only in their own region",
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
        _check_account_and_region(self.account, self.region)
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

    def __post_init__(self) -> None:
        self._check_promotion_path()
        self._check_model_package_accounts()

    def _check_promotion_path(self) -> None:
        """prod serves only the model staging serves: the one the pipeline smoke-tested."""
        prod = self.environments.get("prod")
        if prod is None or prod.serving_model is None:
            return
        staging = self.environments.get(SMOKE_TESTED_ENVIRONMENT)
        staging_pin = staging.serving_model if staging else None
        where = f"environments.{SMOKE_TESTED_ENVIRONMENT}.serving_model"
        if staging_pin is None:
            raise FieldError(
                "environments.prod.serving_model",
                f"pins {prod.serving_model}, but {where} pins nothing: a model reaches prod "
                f"only through {SMOKE_TESTED_ENVIRONMENT}; pin the same model there in the same "
                "change (the pipeline smoke-tests it there before the prod approval)",
            )
        _check(
            prod.serving_model == staging_pin,
            "environments.prod.serving_model",
            f"pins {prod.serving_model}, but {where} pins {staging_pin}: prod may only serve "
            f"the model {SMOKE_TESTED_ENVIRONMENT} serves; pin the same model in both",
        )
        # An s3:// pin is read from the environment's own account only, so one prefix cannot
        # serve two accounts: across accounts a model travels as a model package.
        _check(
            not prod.serving_model.startswith("s3://") or prod.account == staging.account,
            "environments.prod.serving_model",
            f"pins {prod.serving_model}, an s3:// prefix, but {SMOKE_TESTED_ENVIRONMENT} and prod "
            "are different accounts and each reads an s3:// pin from its own: pin the model "
            "package the run registered (arn:...:model-package/GROUP/N) in both",
        )

    def _check_model_package_accounts(self) -> None:
        """A model package pinned from another account must live in a configured environment."""
        accounts = {env.account for env in self.environments.values()}
        for name, env in self.environments.items():
            account = model_package_account(env.serving_model)
            _check(
                account is None or account in accounts,
                f"environments.{name}.serving_model",
                f"is a model package in account {account}, which is no configured environment's "
                "account; the stacks grant cross-account reads only between configured "
                f"environments (accounts: {', '.join(sorted(accounts))})",
            )

    def environment(self, name: str) -> EnvironmentConfig:
        """The named environment, or an error listing the known ones."""
        if name not in self.environments:
            known = ", ".join(self.environments)
            raise KeyError(f"unknown environment {name!r}: known environments are {known}")
        return self.environments[name]
