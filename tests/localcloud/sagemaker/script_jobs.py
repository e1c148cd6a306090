"""Training job requests for a small script, with its code in a ``code`` channel or in S3."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from .conftest import IMAGE, ROLE, Cloud, wait_status

CODE_TARBALL = "/opt/ml/input/data/code/sourcedir.tar.gz"


def channel(name: str, uri: str, distribution: str = "FullyReplicated") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": distribution,
            }
        },
    }


def script_job(
    cloud: Cloud,
    name: str,
    files: dict[str, str] | None,
    *,
    code_channel: bool = True,
    instances: int = 1,
    isolated: bool = False,
    hyperparameters: dict[str, str] | None = None,
    channels: list[dict[str, Any]] | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A CreateTrainingJob request that runs ``files["train.py"]`` through the toolkit.

    Args:
        files: the tarball's files (name -> text); None when the caller uploaded
            ``code/<name>/sourcedir.tar.gz`` itself.
        code_channel: deliver the tarball as the ``code`` channel (the SDK's way for isolated
            jobs); else ``sagemaker_submit_directory`` is its ``s3://`` URI.
    """
    key = f"code/{name}/sourcedir.tar.gz"
    tarball = cloud.put_tarball(key, files) if files else f"s3://{cloud.bucket}/{key}"
    submit = CODE_TARBALL if code_channel else tarball
    inputs = list(channels or [])
    if code_channel:
        inputs.append(channel("code", tarball))
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": json.dumps(submit),
            **(hyperparameters or {}),
        },
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{cloud.bucket}/output",
            "CompressionType": "NONE",
        },
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": instances,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "EnableNetworkIsolation": isolated,
        "Environment": environment or {},
    }
    if inputs:
        request["InputDataConfig"] = inputs
    return request


def run_job(cloud: Cloud, request: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    """Creates the job and waits for its end; returns DescribeTrainingJob."""
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_training_job(**request)
    return wait_status(
        lambda: sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"]),
        "TrainingJobStatus",
        {"Completed", "Failed", "Stopped"},
        timeout_s,
    )


def log_of(cloud: Cloud, name: str, host: str = "algo-1") -> str:
    suffix = "" if host == "algo-1" else f".{host}"
    return (cloud.state_dir / "logs" / "TrainingJobs" / f"{name}{suffix}.log").read_text()


PROBE_WHEEL = "localcloud_probe-1.0-py3-none-any.whl"


def probe_wheel() -> bytes:
    """A wheel of ``localcloud-probe`` 1.0, a package nothing installs: pip would install it."""
    wheel = io.BytesIO()
    info = "localcloud_probe-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: localcloud-probe\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel.getvalue()
