"""The GitOps pipeline: source, synth + tests, dev, staging + smoke test, approval, prod."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from constructs import Construct

from stacks.config_schema import PROMOTION_ORDER, SMOKE_TESTED_ENVIRONMENT, ProjectConfig
from stacks.pipeline.acknowledgements import acknowledge_pipeline_wildcards, skip_pipeline_checks
from stacks.pipeline.artifacts import PipelineArtifacts
from stacks.pipeline.steps import prod_approval, smoke_test_step, synth_step
from stacks.serving.promotion import cross_account_links
from stacks.stage import FineTuningStage


class PipelineStack(Stack):
    """CDK Pipelines in the tooling account, deploying each environment to its own account.

    A merge to the configured branch runs the tests, updates the pipeline itself
    (self-mutation), then deploys dev, staging and, after a person approves, prod. Each
    stage is the same ``FineTuningStage`` that ``cdk deploy -c env=NAME`` deploys, with the
    same stack names, so either way of deploying updates the same stacks.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, project: ProjectConfig, **kwargs
    ) -> None:
        tooling = project.pipeline
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=tooling.account, region=tooling.region),
            **kwargs,
        )
        source = pipelines.CodePipelineSource.connection(
            tooling.repository, tooling.branch, connection_arn=tooling.connection_arn
        )
        self.artifacts = PipelineArtifacts(self, "Artifacts")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=synth_step(source),
            artifact_bucket=self.artifacts.bucket,
            self_mutation=True,
            # Self-mutation runs the CDK CLI that package.json pins, not the latest 2.x.
            cli_version=cdk_cli_version(),
            # Asset publishing writes the code every account's jobs run, before the prod
            # approval: a pinned cdk-assets, not whatever npm serves as latest that day.
            cdk_assets_cli_version=CDK_ASSETS_VERSION,
            # The job wheels are one file asset per wheel (stacks/workflow/job_wheels.py): one
            # CodeBuild project publishes them all instead of one project per asset.
            publish_assets_in_parallel=False,
            # Synth, self-mutation, asset publishing and the smoke test alike.
            code_build_defaults=pipelines.CodeBuildOptions(
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(
                        log_group=self.artifacts.build_logs
                    )
                )
            ),
        )
        self.stages: dict[str, FineTuningStage] = {}
        for name in PROMOTION_ORDER:
            config = project.environment(name)
            stage = FineTuningStage(
                self,
                name.capitalize(),
                config=config,
                links=cross_account_links(project, name),
            )
            post = []
            if name == SMOKE_TESTED_ENVIRONMENT and stage.serving.endpoint_name_output:
                post.append(smoke_test_step(self.pipeline, source, stage.serving, config))
            pre = [prod_approval()] if name == PROMOTION_ORDER[-1] else []
            self.pipeline.add_stage(stage, pre=pre, post=post)
            self.stages[name] = stage
        self.pipeline.build_pipeline()
        acknowledge_pipeline_wildcards(
            self.pipeline, self.get_logical_id(self.artifacts.bucket.node.default_child)
        )
        skip_pipeline_checks(self.pipeline, self.artifacts.access_logs)


# npm's cdk-assets (the asset publisher CDK Pipelines installs in CodeBuild). Move it with the
# aws-cdk pin in package.json: `npm view cdk-assets version`.
CDK_ASSETS_VERSION = "4.7.3"


def cdk_cli_version() -> str:
    """The ``aws-cdk`` version that package.json pins (what ``npx cdk`` runs)."""
    package = json.loads((Path(__file__).resolve().parents[2] / "package.json").read_text())
    return package["devDependencies"]["aws-cdk"]
