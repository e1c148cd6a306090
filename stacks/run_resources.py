"""What an environment's runs launch, as the cost estimate prices it (``costs.estimate``).

One translation from the typed config, used by the stack (the validation Lambda's
``RUN_RESOURCES``), the cost step and the CLI, so all three price the same instances and limits.
"""

from __future__ import annotations

from costs.estimate import RunResources
from stacks.config_schema import EnvironmentConfig
from stacks.workflow.steps.endpoint_poll import poll_schedule


def run_resources(config: EnvironmentConfig) -> RunResources:
    """The instance types, counts and time limits (in seconds) of ``config``'s runs."""
    return RunResources(
        region=config.region,
        training_instance_type=config.training.instance_type,
        training_instance_count=config.training.instance_count,
        training_max_runtime_s=config.training.max_runtime_minutes * 60,
        use_spot=config.training.use_spot,
        processing_instance_type=config.processing.instance_type,
        processing_max_runtime_s=config.processing.max_runtime_minutes * 60,
        endpoint_instance_type=config.evaluation.instance_type,
        endpoint_wait_s=sum(
            poll_schedule(
                config.evaluation.endpoint_timeout_minutes * 60,
                config.evaluation.endpoint_poll_seconds,
            )
        ),
    )
