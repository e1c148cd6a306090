"""One environment's stacks, built the same way for the local cloud, dev, staging and prod."""

from __future__ import annotations

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from stacks.config_schema import EnvironmentConfig
from stacks.storage import StorageStack


class FineTuningStage(Stage):
    """Everything one account runs: storage, the training workflow and the serving endpoint."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            **kwargs,
        )
        self.storage = StorageStack(self, "Storage", config=config)
        Tags.of(self).add("project", "llm-finetune")
        Tags.of(self).add("environment", config.name)
