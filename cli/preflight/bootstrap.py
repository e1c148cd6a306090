"""The account the credentials reach, and its CDK bootstrap: present, and trusting the pipeline.

The bootstrap is what ``cdk bootstrap`` leaves in an account and region: the CDKToolkit stack
and the SSM parameter ``/cdk-bootstrap/<qualifier>/version`` that every synthesized template
checks on deployment (CDK's ``DefaultStackSynthesizer``). The GitOps pipeline deploys dev,
staging and prod from its tooling account, so their bootstraps must trust that account
(``--trust``, the stack's ``TrustedAccounts`` parameter; docs/gitops.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cli.preflight.findings import (
    Finding,
    cannot_tell,
    denial,
    denied,
    error_code,
    ok,
    problem,
)
from stacks.config_schema import EnvironmentConfig

_CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
# cdk.json keys: the app's context (which App() receives, app.py) and the CLI's own settings.
_QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
_TOOLKIT_STACK_SETTING = "toolkitStackName"
_DEFAULT_TOOLKIT_STACK = "CDKToolkit"  # the CDK CLI's default --toolkit-stack-name
_EXECUTION_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"  # as docs/gitops.md


@dataclass(frozen=True)
class BootstrapNames:
    """Where the app looks for its bootstrap: the qualifier's version parameter and the stack."""

    qualifier: str
    toolkit_stack: str

    @property
    def version_parameter(self) -> str:
        from aws_cdk import DefaultStackSynthesizer

        pattern = DefaultStackSynthesizer.DEFAULT_BOOTSTRAP_STACK_VERSION_SSM_PARAMETER
        return pattern.replace("${Qualifier}", self.qualifier)

    @classmethod
    def of_app(cls, cdk_json: Path = _CDK_JSON) -> BootstrapNames:
        """The names this app uses: cdk.json's qualifier and toolkit stack, else CDK's defaults."""
        settings = json.loads(cdk_json.read_text())
        qualifier = settings.get("context", {}).get(_QUALIFIER_CONTEXT)
        if qualifier is None:
            from aws_cdk import DefaultStackSynthesizer

            qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
        return cls(qualifier, settings.get(_TOOLKIT_STACK_SETTING, _DEFAULT_TOOLKIT_STACK))


def check_account(sts: Any, env: EnvironmentConfig, region: str | None) -> list[Finding]:
    """The credentials reach the environment's account, in its region."""
    where = f"environments.{env.name}"
    account = sts.get_caller_identity()["Account"]
    findings = [
        ok("account", where, f"the credentials reach account {account}")
        if account == env.account
        else problem(
            "account",
            where,
            f"the credentials reach account {account}, but {where}.account is {env.account}",
            f"use a profile of account {env.account} (--profile), or correct {where}.account "
            "in config/environments.yaml",
        )
    ]
    if region != env.region:
        findings.append(
            problem(
                "account",
                where,
                f"the checks would run in {region}, but the stacks deploy to {env.region}",
                f"leave out --region, or give --region {env.region}",
            )
        )
    return findings


def bootstrap_command(account: str, region: str, trust: tuple[str, ...] = ()) -> str:
    """The ``cdk bootstrap`` of docs/gitops.md; it replaces the accounts an earlier one trusted,
    so ``trust`` lists them all."""
    command = f"npx cdk bootstrap aws://{account}/{region}"
    if not trust:
        return command
    trusts = " ".join(f"--trust {account}" for account in trust)
    return f"{command} {trusts} --cloudformation-execution-policies {_EXECUTION_POLICY}"


def check_bootstrap(
    ssm: Any,
    cloudformation: Any,
    env: EnvironmentConfig,
    names: BootstrapNames,
    *,
    trusted_account: str | None,
    fix: str | None = None,
) -> list[Finding]:
    """The bootstrap's version parameter exists; with ``trusted_account``, the bootstrap trusts it.

    Args:
        fix: what to run when there is no bootstrap (default: ``npx cdk bootstrap ...``).
    """
    where = f"aws://{env.account}/{env.region}"
    if trusted_account == env.account:
        trusted_account = None  # the pipeline deploys into its own account
    parameter = names.version_parameter
    try:
        version = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return [
                problem(
                    "bootstrap",
                    where,
                    f"not bootstrapped: SSM parameter {parameter} does not exist",
                    fix or bootstrap_command(env.account, env.region, _trusting(trusted_account)),
                )
            ]
        if denied(error):
            return [cannot_tell("bootstrap", where, f"{denial(error)} for {parameter}")]
        raise
    found = ok("bootstrap", where, f"bootstrap version {version} (qualifier {names.qualifier})")
    if trusted_account is None:
        return [found]
    return [found, _trust(cloudformation, env, names, trusted_account)]


def _trust(
    cloudformation: Any, env: EnvironmentConfig, names: BootstrapNames, trusted_account: str
) -> Finding:
    where = f"aws://{env.account}/{env.region}"
    try:
        (stack,) = cloudformation.describe_stacks(StackName=names.toolkit_stack)["Stacks"]
    except ClientError as error:
        if denied(error):
            return cannot_tell("bootstrap", where, f"{denial(error)} for {names.toolkit_stack}")
        if error_code(error) != "ValidationError":
            raise
        return cannot_tell(
            "bootstrap",
            where,
            f"no stack {names.toolkit_stack} (bootstrapped under another --toolkit-stack-name?): "
            f"cannot see whether it trusts the pipeline's account {trusted_account}",
        )
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
    }
    listed = parameters.get("TrustedAccounts", "").split(",")
    trusted = tuple(account.strip() for account in listed if account.strip())
    if trusted_account in trusted:
        return ok("bootstrap", where, f"trusts the pipeline's account {trusted_account}")
    return problem(
        "bootstrap",
        where,
        f"trusts {', '.join(trusted) or 'no other account'}, not the pipeline's account "
        f"{trusted_account}, which deploys {env.name}",
        bootstrap_command(env.account, env.region, (*trusted, trusted_account)),
    )


def _trusting(account: str | None) -> tuple[str, ...]:
    return () if account is None else (account,)
