"""SageMaker's Service Quotas for each instance type and usage the environment configures.

SageMaker limits instances per type and usage, in quotas named "<instance type> for <usage>",
such as "ml.g5.2xlarge for training job usage" or "ml.m5.xlarge for processing job usage"
(Service Quotas, service code ``sagemaker``; "Amazon SageMaker AI endpoints and quotas",
https://docs.aws.amazon.com/general/latest/gr/sagemaker.html). A job or endpoint over its quota
fails with ResourceLimitExceeded, naming the quota; new accounts often have 0 for GPU types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from cli.preflight.findings import Finding, cannot_tell, denial, denied, ok, problem
from stacks.config_schema import EnvironmentConfig

SERVICE_CODE = "sagemaker"


@dataclass(frozen=True)
class QuotaNeed:
    """How many instances of one quota the environment can use at once, and what uses them."""

    name: str
    instances: int
    uses: tuple[str, ...]


def quota_needs(env: EnvironmentConfig) -> list[QuotaNeed]:
    """The quotas the environment's jobs and endpoints count against.

    Managed spot training counts against the spot training quota, on-demand training against
    the training one. The data preparation and evaluation jobs run one instance each, one after
    the other. A run's evaluation endpoint is one instance (a second while a run compares with
    the base model); the serving endpoint, when a model is pinned, scales up to
    ``endpoint.max_instances``.
    """
    training = env.training
    usage = "spot training job usage" if training.use_spot else "training job usage"
    wanted = [
        (f"{training.instance_type} for {usage}", training.instance_count, "training"),
        (f"{env.processing.instance_type} for processing job usage", 1, "processing"),
        (f"{env.evaluation.instance_type} for endpoint usage", 1, "evaluation endpoint"),
    ]
    if env.serving_model is not None:
        wanted.append(
            (
                f"{env.endpoint.instance_type} for endpoint usage",
                env.endpoint.max_instances,
                "serving endpoint",
            )
        )
    needs: dict[str, QuotaNeed] = {}
    for name, instances, use in wanted:
        earlier = needs.get(name, QuotaNeed(name, 0, ()))
        needs[name] = QuotaNeed(name, earlier.instances + instances, (*earlier.uses, use))
    return list(needs.values())


def check_quotas(service_quotas: Any, env: EnvironmentConfig) -> list[Finding]:
    """One finding per quota the environment needs; a quota below its need is a problem."""
    needs = quota_needs(env)
    try:
        values = _quota_values(service_quotas, {need.name for need in needs})
    except ClientError as error:
        if not denied(error):
            raise
        return [
            cannot_tell(
                "quota",
                need.name,
                f"{denial(error)}; {need.instances} needed ({', '.join(need.uses)})",
            )
            for need in needs
        ]
    return [_finding(need, values.get(need.name), env.region) for need in needs]


def _finding(need: QuotaNeed, value: float | None, region: str) -> Finding:
    uses = ", ".join(need.uses)
    if value is None:
        return cannot_tell(
            "quota",
            need.name,
            f"no such SageMaker quota in {region}: the instance type may not be offered there "
            f"for this usage; {need.instances} needed ({uses})",
        )
    if value >= need.instances:
        return ok("quota", need.name, f"{value:g} >= {need.instances} needed ({uses})")
    return problem(
        "quota",
        need.name,
        f"{value:g} in {region}, {need.instances} needed ({uses})",
        f"request an increase in the Service Quotas console: {need.name}",
    )


def _quota_values(service_quotas: Any, names: set[str]) -> dict[str, float]:
    """The applied value of each quota in ``names``, else its default.

    ListServiceQuotas leaves out quotas whose applied value is not available; their defaults
    come from ListAWSDefaultServiceQuotas.
    """
    values: dict[str, float] = {}
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        for page in service_quotas.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
            for quota in page["Quotas"]:
                name = quota.get("QuotaName")
                if name in names and name not in values and "Value" in quota:
                    values[name] = quota["Value"]
        if names <= values.keys():
            break
    return values
