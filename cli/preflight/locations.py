"""The data the environment names can be read: its buckets, the pinned serving model, and
(with ``--input``) a run's base model and dataset.

These checks read as this caller. The jobs and endpoints read as their own roles, so a denial
here cannot tell whether they may; a missing bucket, object or model package is a problem.
"""

from __future__ import annotations

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

_MISSING_BUCKET = {"NoSuchBucket", "404"}
BUCKET_OUTPUTS = ("DataBucketName", "ArtifactsBucketName")
_UPLOAD = "upload {} there, or give the S3 URI where it is"


def check_buckets(cloudformation: Any, s3: Any, stage: str) -> list[Finding]:
    """The data and artifacts buckets of the deployed ``<stage>-Storage`` stack can be listed."""
    stack = f"{stage}-Storage"
    try:
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if denied(error):
            return [cannot_tell("bucket", stack, denial(error))]
        if error_code(error) != "ValidationError":
            raise
        return [
            Finding(
                "bucket",
                "skipped",
                stack,
                "not deployed yet; the first deploy creates the data and artifacts buckets",
            )
        ]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    findings = []
    for key in BUCKET_OUTPUTS:
        if key not in outputs:
            findings.append(
                problem("bucket", stack, f"has no output {key}", f"deploy the current {stack}")
            )
            continue
        findings.append(_listable(s3, outputs[key], "", f"{key} of {stack}", f"redeploy {stack}"))
    return findings


def check_serving_model(s3: Any, sagemaker: Any, env: EnvironmentConfig) -> list[Finding]:
    """The model ``serving_model`` pins exists: an S3 prefix with objects, or a model package."""
    pin = env.serving_model
    field = f"environments.{env.name}.serving_model"
    if pin is None:
        return []
    fix = f"pin a model that exists in {field} (config/environments.yaml)"
    if pin.startswith("s3://"):
        bucket, _, prefix = pin.removeprefix("s3://").partition("/")
        return [_listable(s3, bucket, prefix, field, fix, check="model")]
    try:
        package = sagemaker.describe_model_package(ModelPackageName=pin)
    except ClientError as error:
        if denied(error):
            return [cannot_tell("model", field, f"{denial(error)} for {pin}")]
        if error_code(error) != "ValidationException":
            raise
        return [problem("model", field, f"{pin} does not exist", fix)]
    status = package.get("ModelApprovalStatus", "unknown")
    return [ok("model", field, f"{pin} exists ({status})")]


def check_input(s3: Any, execution_input: dict[str, Any]) -> list[Finding]:
    """The S3 base model (its ``config.json``) and dataset of an execution input exist."""
    findings = []
    base_model = execution_input.get("base_model")
    if isinstance(base_model, str) and base_model.startswith("s3://"):
        bucket, _, prefix = base_model.removeprefix("s3://").partition("/")
        config = f"{prefix.rstrip('/')}/config.json".lstrip("/")
        findings.append(
            _listable(s3, bucket, config, "base_model", _UPLOAD.format("the model folder"), "input")
        )
    dataset = execution_input.get("dataset")
    uri = dataset.get("s3_uri") if isinstance(dataset, dict) else None
    if isinstance(uri, str) and uri.startswith("s3://"):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        findings.append(
            _listable(s3, bucket, prefix, "dataset.s3_uri", _UPLOAD.format("the dataset"), "input")
        )
    return findings


def _listable(
    s3: Any, bucket: str, prefix: str, subject: str, fix: str, check: str = "bucket"
) -> Finding:
    """Whether ``s3://bucket/prefix`` holds at least one object (any object, for no prefix)."""
    where = f"s3://{bucket}/{prefix}"
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except ClientError as error:
        if error_code(error) in _MISSING_BUCKET:
            return problem(check, subject, f"bucket {bucket} does not exist", fix)
        if denied(error):
            return cannot_tell(
                check, subject, f"{denial(error)} for {where}: the jobs read as their own role"
            )
        raise
    if not prefix:
        return ok(check, subject, f"{where} can be listed")
    if listed.get("KeyCount", 0) == 0:
        return problem(check, subject, f"nothing under {where}", fix)
    return ok(check, subject, f"{where} exists")
