#!/usr/bin/env python3
"""CDK entry point: the only place that reads context and the process environment.

npx cdk synth -c env=dev            # one environment's stacks: local, dev, staging or prod
npx cdk deploy -c env=dev --all
npx cdk deploy -c env=pipeline      # the GitOps pipeline, once, into the tooling account
npx cdk synth -c env=dev -c config=other.yaml   # another configuration file (tests, trials)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_cdk import App

from stacks.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.config_schema import PROMOTION_ORDER
from stacks.nag import add_checks
from stacks.pipeline.pipeline_stack import PipelineStack
from stacks.serving.promotion import cross_account_links
from stacks.stage import FineTuningStage

PIPELINE = "pipeline"
BUNDLING_STACKS = "aws:cdk:bundling-stacks"


def build_app(
    env_name: str, *, outdir: str | None = None, config_path: Path = DEFAULT_CONFIG_PATH
) -> App:
    """Builds the CDK app for one environment, or the pipeline, with the cdk-nag checks.

    ``env_name`` is an environment of the configuration file, or ``"pipeline"`` for the
    GitOps pipeline stack (in the tooling account) that deploys dev, staging and prod.

    Raises:
        ConfigError: the configuration file has a bad value, or ``env_name`` is unknown.
    """
    config = load_config(config_path)
    # A synth from Python (tests, `python -m cli synth`) skips asset bundling, which downloads
    # the job wheels (stacks/workflow/job_wheels.py); the CDK CLI's own list of stacks to
    # bundle (all, by default) replaces this one.
    context = {**_feature_flags(), BUNDLING_STACKS: [], "env": env_name}
    app = App(outdir=outdir, context=context)
    if env_name == PIPELINE:
        missing = [name for name in PROMOTION_ORDER if name not in config.environments]
        if missing:
            raise ConfigError(
                f"{config_path}: environments.{missing[0]}: is required for the pipeline, "
                f"which deploys {', '.join(PROMOTION_ORDER)} in that order"
            )
        PipelineStack(app, "Pipeline", project=config)
    else:
        try:
            environment = config.environment(env_name)
        except KeyError as error:
            raise ConfigError(f"{error.args[0]}, or {PIPELINE}") from None
        FineTuningStage(
            app,
            env_name.capitalize(),
            config=environment,
            links=cross_account_links(config, env_name),
        )
    add_checks(app)
    return app


def _feature_flags() -> dict:
    """cdk.json's context, so a synth from Python (tests) matches one from the CDK CLI."""
    return json.loads((Path(__file__).resolve().parent / "cdk.json").read_text())["context"]


def main() -> None:
    context_app = App()
    env_name = context_app.node.try_get_context("env") or "local"
    config_path = Path(context_app.node.try_get_context("config") or DEFAULT_CONFIG_PATH)
    try:
        app = build_app(env_name, outdir=context_app.outdir, config_path=config_path)
    except ConfigError as error:
        sys.exit(f"configuration error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
