"""Typed per-environment configuration: what each field means and which values are valid.

The values live in ``config/environments.yaml``; ``stacks.config`` loads them into these frozen
dataclasses. Each class checks its own fields in ``__post_init__`` and raises ``FieldError``
naming the field, which the loader turns into a message with the file, line and field path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from contracts import workflow as contract
from contracts.workflow import METRICS as EVALUATION_METRICS
from stacks.serving.instances import gpus_per_instance

ENVIRONMENT_NAMES = ("local", "dev", "staging", "prod")
# The GitOps pipeline deploys these in order; the release owner approves before the last.
PROMOTION_ORDER = ("dev", "staging", "prod")
# The pipeline smoke-tests this environment's endpoint; prod may only serve what it served.
SMOKE_TESTED_ENVIRONMENT = "staging"
APPROVAL_STATUSES = ("Approved", "PendingManualApproval")
# What an execution compares the new model with by default (its input may say otherwise).
COMPARISONS = (contract.NO_COMPARISON, *contract.COMPARISONS)
# Where the champion comes from: the newest Approved package of the environment's model
# package group, or the model the serving stack pins (serving_model).
CHAMPION_SOURCES = ("registry", "serving")

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
# ml.<family>.<size>: sizes are medium, large, xlarge or <N>xlarge (ml.g5.2xlarge).
_INSTANCE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.(medium|large|xlarge|[1-9][0-9]*xlarge)$")
_IMAGE_URI = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*"
    r"(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MODEL_PIN = re.compile(
    r"^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[\w-]+/[1-9]\d*"
    r"|s3://[a-z0-9.-]{3,63}/.+)$"
)
# The project's name, which starts the names other accounts or stacks must know (roles, the
# model registry group of each environment's workflow stack).
PROJECT = "llm-finetune"
MODEL_PACKAGE_GROUP_PREFIX = f"{PROJECT}-"
# The tags on every resource of a stage (stage.py): cost allocation, and the budgets' filter.
PROJECT_TAG = "project"
ENVIRONMENT_TAG = "environment"
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f-]{36}$"
)
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")


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


def model_package_group(pin: str | None) -> str | None:
    """The group of a model package ARN pin; None for an S3 pin or no pin."""
    if not pin or not pin.startswith("arn:"):
        return None
    return pin.split(":", 5)[5].split("/")[1]


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
    compare_with: Literal["none", "base", "champion"] = "none"
    champion: Literal["registry", "serving"] = "registry"
    min_improvement: float = 0.0

    def __post_init__(self) -> None:
        _check(
            bool(_INSTANCE.match(self.instance_type)),
            "instance_type",
            f"must look like ml.g5.xlarge, got {self.instance_type!r}",
        )
        _check(
            self.compare_with in COMPARISONS,
            "compare_with",
            f"must be one of {', '.join(COMPARISONS)}, got {self.compare_with!r}",
        )
        _check(
            self.champion in CHAMPION_SOURCES,
            "champion",
            f"must be one of {', '.join(CHAMPION_SOURCES)}, got {self.champion!r}",
        )
        _check(
            0.0 <= self.min_improvement <= 1.0,
            "min_improvement",
            f"must be between 0 and 1 (absolute, on the gate metric), got {self.min_improvement}",
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
    data_capture_retention_days: int = 90
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
        _positive(self.data_capture_retention_days, "data_capture_retention_days")
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


# CreateBudget takes at most five notifications per budget ("Array Members: Maximum number of 5
# items", https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html).
MAX_BUDGET_NOTIFICATIONS = 5


def _percent_of_budget(percent: int, field_name: str) -> None:
    # Above ten times the budget an alert is no warning; such a number is a dollar amount typed
    # into a percentage.
    _check(
        1 <= percent <= 1000,
        field_name,
        f"must be a percentage of monthly_usd between 1 and 1000, got {percent}",
    )


@dataclass(frozen=True)
class BudgetConfig:
    """A monthly AWS Budgets cost budget over the account's resources tagged with the project.

    Attributes:
        monthly_usd: the budgeted amount per calendar month, in US dollars.
        alert_percents: an alert when the month's actual cost passes each of these percentages.
        forecast_percent: an alert when the month's cost is forecast to pass this percentage;
            null: none.
    """

    monthly_usd: float
    alert_percents: tuple[int, ...] = (50, 80, 100)
    forecast_percent: int | None = 100

    def __post_init__(self) -> None:
        _check(self.monthly_usd > 0, "monthly_usd", f"must be above 0, got {self.monthly_usd}")
        _check(bool(self.alert_percents), "alert_percents", "must list at least one percentage")
        for percent in self.alert_percents:
            _percent_of_budget(percent, "alert_percents")
        if self.forecast_percent is not None:
            _percent_of_budget(self.forecast_percent, "forecast_percent")
        _check(
            list(self.alert_percents) == sorted(set(self.alert_percents)),
            "alert_percents",
            f"must rise without repeats, got {list(self.alert_percents)}",
        )
        count = len(self.alert_percents) + (self.forecast_percent is not None)
        _check(
            count <= MAX_BUDGET_NOTIFICATIONS,
            "alert_percents",
            f"AWS Budgets sends at most {MAX_BUDGET_NOTIFICATIONS} alerts per budget, "
            f"forecast_percent included; got {count}",
        )


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
    budget: BudgetConfig | None = None

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
            bool(_CONNECTION_ARN.match(self.connection_arn)),
            "connection_arn",
            "must be a CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:"
            f"connection/ID), got {self.connection_arn!r}",
        )
        _check(
            bool(_REPOSITORY.match(self.repository)),
            "repository",
            f"must be OWNER/NAME, got {self.repository!r}",
        )
        _check(bool(self.branch.strip()), "branch", "must name a branch, got an empty string")


@dataclass(frozen=True)
class ProjectConfig:
    """The whole configuration file."""

    pipeline: PipelineConfig
    environments: dict[str, EnvironmentConfig]

    def __post_init__(self) -> None:
        self._check_pipeline_region()
        self._check_promotion_path()
        self._check_model_packages()

    def _check_pipeline_region(self) -> None:
        """CodePipeline deploys to other regions only through replication buckets, which this
        project does not create: dev, staging and prod run in the pipeline's region."""
        for name in PROMOTION_ORDER:
            env = self.environments.get(name)
            _check(
                env is None or env.region == self.pipeline.region,
                "pipeline.region",
                f"is {self.pipeline.region}, but environments.{name}.region is "
                f"{env.region if env else ''}: the pipeline deploys dev, staging and prod in its "
                "own region; use one region for all four",
            )

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

    def _check_model_packages(self) -> None:
        """A pinned model package is one a configured environment's workflow registered.

        Its account and group say which: ``llm-finetune-<env>`` in that environment's account.
        The pipeline's environments read packages of each other's accounts through the grants
        the stacks derive from these pins; ``local`` runs in the local cloud, whose account is
        no AWS account, so it serves only its own registry's packages, and nothing else
        serves them.
        """
        for name, env in self.environments.items():
            account = model_package_account(env.serving_model)
            if account is None:
                continue
            sources = (
                [env]
                if env.is_local
                else [
                    source
                    for source_name, source in self.environments.items()
                    if source_name in PROMOTION_ORDER
                ]
            )
            groups = {
                f"{MODEL_PACKAGE_GROUP_PREFIX}{source.name}": source
                for source in sources
                if source.account == account
            }
            where = f"environments.{name}.serving_model"
            if not groups:
                accounts = ", ".join(sorted({source.account for source in sources}))
                scope = (
                    "the local cloud serves only its own registry's packages"
                    if env.is_local
                    else "the stacks grant cross-account reads only between dev, staging and prod"
                )
                raise FieldError(
                    where,
                    f"is a model package in account {account}, which is no configured "
                    f"environment's account that {name} may read from: {scope} (accounts: "
                    f"{accounts})",
                )
            group = model_package_group(env.serving_model)
            _check(
                group in groups,
                where,
                f"is a model package of group {group}, but the workflows of account {account} "
                f"register into {' or '.join(sorted(groups))}: pin a version of that group",
            )

    def environment(self, name: str) -> EnvironmentConfig:
        """The named environment, or an error listing the known ones."""
        if name not in self.environments:
            known = ", ".join(self.environments)
            raise KeyError(f"unknown environment {name!r}: known environments are {known}")
        return self.environments[name]
