"""``python -m cli preflight``: what a first deploy and run need in an account, checked before.

    python -m cli --target aws --env dev --profile dev preflight
    python -m cli preflight --target aws --env dev --input run.json --json
    python -m cli preflight                      # the local cloud (python -m localcloud start)

It checks that the credentials reach the environment's account and region, that the account is
CDK-bootstrapped (trusting the pipeline's account, for the environments the pipeline deploys),
that the job and serving images exist in the region, that SageMaker's quotas cover each
configured instance type and usage, that Lambda's unreserved concurrency leaves room for
the input validator's reservation, and that the buckets and models the configuration (and
``--input``) names can be read. Each finding is one line; a problem's line ends with its fix.
A denial is "cannot tell", not a problem. Exit status 1 when any problem was found.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from cli.errors import CliError
from cli.preflight.bootstrap import BootstrapNames, check_account, check_bootstrap
from cli.preflight.concurrency import check_concurrency, reserved_by
from cli.preflight.findings import STATUSES, Finding
from cli.preflight.images import check_images, image_uses
from cli.preflight.locations import check_buckets, check_input, check_serving_model
from cli.preflight.quotas import check_quotas, quota_needs
from cli.target import Target, aws_target, local_target
from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.config_schema import PROMOTION_ORDER, EnvironmentConfig, ProjectConfig
from stacks.workflow.images import resolve_images

_NOT_EMULATED = "the local cloud runs jobs and endpoints as local processes: no image, no instance"


def run_checks(
    target: Target,
    project: ProjectConfig,
    env: EnvironmentConfig,
    execution_input: dict[str, Any] | None = None,
    names: BootstrapNames | None = None,
) -> list[Finding]:
    """Every check against ``target``; ``target.endpoint_url`` set means the local cloud."""
    local = target.endpoint_url is not None
    client = target.client
    trusted = project.pipeline.account if env.name in PROMOTION_ORDER and not local else None
    findings = [
        *check_account(client("sts"), env, target.session.region_name),
        *check_bootstrap(
            client("ssm"),
            client("cloudformation"),
            env,
            names or BootstrapNames.of_app(),
            trusted_account=trusted,
            fix="`python -m cli deploy` bootstraps the local cloud and deploys" if local else None,
        ),
    ]
    images = resolve_images(env.region, env.images)
    if local:
        findings += [
            Finding("image", "not emulated", f"{' and '.join(uses)} image {uri}", _NOT_EMULATED)
            for uri, uses in image_uses(images).items()
        ]
        findings += [
            Finding("quota", "not emulated", need.name, _NOT_EMULATED) for need in quota_needs(env)
        ]
    else:

        def ecr_in(region: str) -> Any:
            return target.session.client("ecr", region_name=region)

        findings += check_images(ecr_in, images)
        findings += check_quotas(client("service-quotas"), env)
        findings += check_concurrency(
            client("lambda"), client("cloudformation"), target.stage, reserved_by(env)
        )
    findings += check_buckets(client("cloudformation"), client("s3"), target.stage)
    findings += check_serving_model(client("s3"), client("sagemaker"), env)
    if execution_input is not None:
        findings += check_input(client("s3"), execution_input)
    return findings


def summary(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each status, problems first, statuses with none left out."""
    counts = Counter(finding.status for finding in findings)
    return {status: counts[status] for status in STATUSES if counts[status]}


def report(findings: list[Finding], where: str, *, as_json: bool) -> int:
    """Prints the findings and their summary (or one JSON object); 1 when any is a problem."""
    counts = summary(findings)
    failed = counts.get("problem", 0) > 0
    if as_json:
        document = {
            "where": where,
            "ok": not failed,
            "summary": counts,
            "findings": [finding.as_dict() for finding in findings],
        }
        print(json.dumps(document, indent=2))
    else:
        for finding in findings:
            print(finding.line())
        words = ", ".join(
            f"{count} {status}{'s' if status == 'problem' and count > 1 else ''}"
            for status, count in counts.items()
        )
        print(f"preflight {where}: {words}" + ("" if failed else "; no problem found"))
    return 1 if failed else 0


def preflight(
    target_kind: str,
    env_name: str,
    *,
    profile: str | None = None,
    region: str | None = None,
    input_arg: str | None = None,
    as_json: bool = False,
    config_path: Path = DEFAULT_CONFIG_PATH,
) -> int:
    """The command: loads the configuration, picks the target, runs and reports the checks."""
    from cli.input_arg import read_input

    try:
        project = load_config(config_path)
        env = project.environment(env_name)
    except ConfigError as error:
        raise CliError(f"configuration error: {error}") from None
    except KeyError as error:
        raise CliError(f"{error.args[0]} in {config_path}") from None
    execution_input = read_input(input_arg) if input_arg else None
    if target_kind == "local":
        target = local_target(env_name)
    else:
        target = aws_target(env_name, profile, region or env.region)
    findings = run_checks(target, project, env, execution_input)
    where = f"{env_name} on {target_kind} ({env.account}/{env.region})"
    return report(findings, where, as_json=as_json)
