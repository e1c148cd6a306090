"""Cross-account model promotion, derived from config: who may read whose models.

A model is trained and registered in one account and may be served from another (a model
package version trained in dev, pinned in staging and prod). The serving accounts read the
pinned artifacts where they are, through grants on both sides (``cross_account_grants``);
nothing is copied. Why grants and not copies: docs/gitops.md ("Cross-account model
promotion").

The roles are named from config (``serving_role_name``) because each side's stack is
synthesized without the other's constructs: another account's role can only be named.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Arn, ArnComponents, Stack
from constructs import Construct

from stacks.config_schema import (
    MODEL_PACKAGE_GROUP_PREFIX,
    PROJECT,
    SMOKE_TESTED_ENVIRONMENT,
    EnvironmentConfig,
    ProjectConfig,
    model_package_group,
)


@dataclass(frozen=True)
class CrossAccountLinks:
    """What other accounts may do with one environment's models and endpoint."""

    model_readers: tuple[EnvironmentConfig, ...] = ()
    """Environments in other accounts whose endpoints serve a model stored in this one."""
    smoke_tester_account: str | None = None
    """The tooling account whose pipeline invokes this environment's endpoint."""
    pinned_by: tuple[str, ...] = ()
    """Other environments, in any account, that serve a model package registered here."""


def cross_account_links(project: ProjectConfig, env_name: str) -> CrossAccountLinks:
    """The cross-account grants ``env_name``'s stacks carry, from the whole configuration."""
    env = project.environment(env_name)
    # A package's group names the environment that registered it (config_schema checks it).
    readers = tuple(
        other
        for other in project.environments.values()
        if other.account != env.account
        and model_package_group(other.serving_model) == f"{MODEL_PACKAGE_GROUP_PREFIX}{env_name}"
    )
    pinned_by = tuple(
        other.name
        for other in project.environments.values()
        if other.name != env_name
        and model_package_group(other.serving_model) == f"{MODEL_PACKAGE_GROUP_PREFIX}{env_name}"
    )
    tested = env_name == SMOKE_TESTED_ENVIRONMENT and env.serving_model is not None
    return CrossAccountLinks(
        model_readers=readers,
        smoke_tester_account=project.pipeline.account if tested else None,
        pinned_by=pinned_by,
    )


def serving_role_name(env: EnvironmentConfig) -> str:
    """The serving role's name: fixed, so that source accounts can grant it by ARN."""
    return f"{PROJECT}-{env.name}-serving-{env.region}"


def smoke_test_role_name(env: EnvironmentConfig) -> str:
    """The role the pipeline assumes to invoke the endpoint: fixed, so the pipeline can name it."""
    return f"{PROJECT}-{env.name}-smoke-test-{env.region}"


def smoke_tester_role_name(env: EnvironmentConfig) -> str:
    """The pipeline's role (tooling account) that runs ``env``'s smoke test: fixed, so that
    ``env``'s smoke-test role can trust that role alone."""
    return f"{PROJECT}-{env.name}-smoke-tester-{env.region}"


def role_arn(scope: Construct, account: str, role_name: str) -> str:
    """The ARN of a role in ``account`` (in the partition of ``scope``'s stack)."""
    components = ArnComponents(
        service="iam", region="", account=account, resource="role", resource_name=role_name
    )
    return Arn.format(components, Stack.of(scope))
