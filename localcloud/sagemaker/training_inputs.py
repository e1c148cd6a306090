"""What SageMaker puts in a training container before the entry point starts."""

from __future__ import annotations

import json
from typing import Any

from localcloud.sagemaker import contract, s3io
from localcloud.sagemaker.jobrun import JobError
from localcloud.sagemaker.opt_ml import OptMl


def write_config(sandbox: OptMl, request: dict[str, Any], hyperparameters: dict[str, str]) -> None:
    """Writes ``/opt/ml/input/config/*.json`` as the training toolkit reads them."""
    config = sandbox.input_config_dir
    instance_type = request.get("ResourceConfig", {}).get("InstanceType", "local")
    resources = {
        "current_host": contract.HOST,
        "hosts": [contract.HOST],
        "current_instance_type": instance_type,
    }
    channels = {
        channel["ChannelName"]: {k: v for k, v in channel.items() if k != "DataSource"}
        for channel in request.get("InputDataConfig") or []
    }
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2))
    (config / "resourceconfig.json").write_text(json.dumps(resources, indent=2))
    (config / "inputdataconfig.json").write_text(json.dumps(channels, indent=2))


def download_channels(s3: Any, sandbox: OptMl, request: dict[str, Any]) -> list[str]:
    """Downloads every InputDataConfig channel; returns the channel names."""
    names = []
    for channel in request.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise JobError(f"ClientError: channel {name!r} has no S3DataSource")
        target = sandbox.channel_dir(name)
        target.mkdir(parents=True, exist_ok=True)
        if source.get("S3DataType") == "ManifestFile":
            s3io.download_manifest(s3, source["S3Uri"], target)
        else:
            s3io.download_prefix(s3, source["S3Uri"], target)
        names.append(name)
    return names


def download_code(s3: Any, sandbox: OptMl, decoded: dict[str, Any]) -> None:
    """Unpacks ``sagemaker_submit_directory`` (a ``sourcedir.tar.gz``) into ``/opt/ml/code``."""
    submit = decoded.get(contract.SUBMIT_DIRECTORY)
    if isinstance(submit, str) and submit.startswith("s3://"):
        s3io.download_and_extract(s3, submit, sandbox.code_dir)


def prepare_checkpoints(s3: Any, sandbox: OptMl, request: dict[str, Any]) -> s3io.DirSync | None:
    """Downloads an earlier run's checkpoints (resume); returns what copies new ones to S3."""
    config = request.get("CheckpointConfig") or {}
    if not config.get("S3Uri"):
        return None
    folder = sandbox.local(config.get("LocalPath") or "/opt/ml/checkpoints")
    folder.mkdir(parents=True, exist_ok=True)
    bucket, prefix = s3io.split_uri(config["S3Uri"])
    if s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"):
        s3io.download_prefix(s3, config["S3Uri"], folder)
    sync = s3io.DirSync(s3, folder, config["S3Uri"])
    sync.mark_present()
    return sync
