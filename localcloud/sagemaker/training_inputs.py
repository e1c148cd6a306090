"""What SageMaker puts in each training instance before the container starts.

The platform does this outside the container, so it happens for network-isolated jobs too:
config files, channels, and the checkpoints of an earlier run. The submit directory is not
here: the toolkit fetches it from inside the job (``localcloud.sagemaker.toolkit``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from localcloud.sagemaker import contract, s3io
from localcloud.sagemaker.job_outcome import JobError
from localcloud.sagemaker.opt_ml import OptMl, rewrite


@dataclass(frozen=True)
class HostSetup:
    """One instance, ready to start: its decoded hyperparameters, channels and checkpoints."""

    decoded: dict[str, Any]
    channels: list[str]
    checkpoints: s3io.DirSync | None


def prepare_host(
    s3: BaseClient, sandbox: OptMl, request: dict[str, Any], hosts: list[str], index: int
) -> HostSetup:
    """Prepares instance ``index`` of ``hosts``: config files, channels, checkpoints."""
    raw = rewrite(request.get("HyperParameters") or {}, sandbox.root)
    write_config(sandbox, request, raw, hosts[index], hosts)
    return HostSetup(
        decoded=contract.decode(raw),
        channels=download_channels(s3, sandbox, request, index, len(hosts)),
        checkpoints=prepare_checkpoints(s3, sandbox, request),
    )


def write_config(
    sandbox: OptMl,
    request: dict[str, Any],
    hyperparameters: dict[str, str],
    host: str = contract.HOST,
    hosts: list[str] | None = None,
) -> None:
    """Writes ``/opt/ml/input/config/*.json`` of ``host`` as the training toolkit reads them."""
    config = sandbox.input_config_dir
    instance_type = request.get("ResourceConfig", {}).get("InstanceType", "local")
    resources = contract.resource_config(host, hosts or [host], instance_type)
    channels = {
        channel["ChannelName"]: {k: v for k, v in channel.items() if k != "DataSource"}
        for channel in request.get("InputDataConfig") or []
    }
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2))
    (config / "resourceconfig.json").write_text(json.dumps(resources, indent=2))
    (config / "inputdataconfig.json").write_text(json.dumps(channels, indent=2))


def download_channels(
    s3: BaseClient, sandbox: OptMl, request: dict[str, Any], index: int = 0, count: int = 1
) -> list[str]:
    """Downloads every InputDataConfig channel for instance ``index`` of ``count``.

    ``FullyReplicated`` (the default) gives every instance all objects. ``ShardedByS3Key`` gives
    each "approximately 1/n of the number of S3 objects" (botocore's SageMaker model,
    ``S3DataSource.S3DataDistributionType``); AWS does not say which object goes where: here the
    objects, in key order, are dealt out in turn (instance i gets objects i, i+n, ...).

    Returns:
        The channel names.
    """
    names = []
    for channel in request.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise JobError(f"ClientError: channel {name!r} has no S3DataSource")
        target = sandbox.channel_dir(name)
        target.mkdir(parents=True, exist_ok=True)
        sharded = source.get("S3DataDistributionType") == "ShardedByS3Key" and count > 1
        if source.get("S3DataType") == "ManifestFile":
            s3io.download_manifest(s3, source["S3Uri"], target)
        elif sharded:
            _download_shard(s3, source["S3Uri"], target, index, count)
        else:
            s3io.download_prefix(s3, source["S3Uri"], target)
        names.append(name)
    return names


def prepare_checkpoints(s3: Any, sandbox: OptMl, request: dict[str, Any]) -> s3io.DirSync | None:
    """Downloads an earlier run's checkpoints (resume); returns what copies new ones to S3.

    Every instance gets the checkpoints and syncs its folder to the one ``S3Uri``: "the
    checkpoints from this S3 bucket are restored to checkpoint_local_path in each instance", and
    the configuration "specifies a single Amazon S3 location" for all instances (AWS developer
    guide, "Use Checkpoints in Amazon SageMaker").
    """
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


def _download_shard(s3: BaseClient, uri: str, dest: Path, index: int, count: int) -> None:
    bucket, prefix = s3io.split_uri(uri)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]
    if not keys:
        raise FileNotFoundError(f"no S3 objects found under {uri}")
    for key in sorted(keys)[index::count]:
        target = dest / (key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1])
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
