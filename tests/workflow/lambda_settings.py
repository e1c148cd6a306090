"""The validation Lambda's settings in its tests: what the stack would put in its environment."""

from __future__ import annotations

import dataclasses
import json

from run_settings import Settings

from costs.estimate import RunResources

RESOURCES = RunResources(
    region="us-east-1",
    training_instance_type="ml.g5.2xlarge",
    training_instance_count=1,
    training_max_runtime_s=7200,
    use_spot=False,
    processing_instance_type="ml.m5.xlarge",
    processing_max_runtime_s=7200,
    endpoint_instance_type="ml.g5.xlarge",
    endpoint_wait_s=1800,
)
# The RUN_RESOURCES variable the stack would set for RESOURCES.
RESOURCES_JSON = json.dumps(dataclasses.asdict(RESOURCES))

SETTINGS = Settings(
    artifacts_bucket="artifacts-bucket",
    data_bucket="data-bucket",
    code_uri="s3://assets/code.gz",
    wheels_uri="s3://assets/0123abcd/",
    training_instance_count=1,
    default_metric="exact_match",
    default_threshold=0.7,
    default_max_samples=1000,
    internet_access=True,
    run_resources=RESOURCES,
)
