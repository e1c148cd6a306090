"""One environment's stacks, built the same way for the local cloud, dev, staging and prod."""

from __future__ import annotations

import dataclasses

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from stacks.config_schema import ENVIRONMENT_TAG, PROJECT, PROJECT_TAG, EnvironmentConfig
from stacks.serving.promotion import CrossAccountLinks
from stacks.serving.serving_stack import ServingStack
from stacks.storage import StorageStack
from stacks.workflow.workflow_stack import TrainingWorkflowStack


class FineTuningStage(Stage):
    """Everything one account runs: storage, the training workflow and the serving endpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        links: CrossAccountLinks | None = None,
        **kwargs,
    ) -> None:
        """``links``: what other accounts may use here (``promotion.cross_account_links``)."""
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            **kwargs,
        )
        # Models other environments serve (in this account or another) stay where they are:
        # their bucket, key and registry outlive a deleted stack whatever retain_data says.
        kept = config
        if links is not None and links.pinned_by and not config.retain_data:
            kept = dataclasses.replace(config, retain_data=True)
        self.storage = StorageStack(self, "Storage", config=kept)
        self.workflow = TrainingWorkflowStack(self, "Workflow", config=kept, storage=self.storage)
        self.serving = ServingStack(
            self,
            "Serving",
            config=config,
            storage=self.storage,
            topic=self.workflow.topic,
            registry=self.workflow.node.find_child("ModelPackageGroup"),
            links=links,
            network=self.workflow.network,
        )
        Tags.of(self).add(PROJECT_TAG, PROJECT)
        Tags.of(self).add(ENVIRONMENT_TAG, config.name)
