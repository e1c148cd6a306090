"""The validation Lambda's settings in its tests: what the stack would put in its environment."""

from __future__ import annotations

from run_settings import Settings

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
)
