"""What SageMaker uploads when a training job ends: the model and the output data."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from localcloud.sagemaker import s3io
from localcloud.sagemaker.opt_ml import OptMl


def upload(
    s3: BaseClient, request: dict[str, Any], job_name: str, sandboxes: list[OptMl]
) -> dict[str, str]:
    """Uploads ``/opt/ml/model`` and ``/opt/ml/output/data`` of every host, merged.

    SageMaker gathers them from all instances, a file of the same name from a later host
    replacing an earlier one's: "As the official SageMaker Training Service, it will override
    duplicate files if multiple containers have the same file names" (SageMaker Python SDK,
    ``sagemaker/core/local/image.py`` ``retrieve_artifacts``). A job that writes its model on
    the leader only uploads the leader's.

    Returns:
        ``ModelArtifacts``: the model's ``S3ModelArtifacts`` (a prefix when
        ``OutputDataConfig.CompressionType`` is ``NONE``, else ``model.tar.gz``).
    """
    output = request["OutputDataConfig"]
    base = f"{output['S3OutputPath'].rstrip('/')}/{job_name}/output"
    models = [sandbox.model_dir for sandbox in sandboxes]
    data = [sandbox.output_data_dir for sandbox in sandboxes]
    with _merged(models) as model_dir, _merged(data) as output_data_dir:
        if (output.get("CompressionType") or "GZIP").upper() == "NONE":
            s3io.upload_dir(s3, model_dir, f"{base}/model/")
            artifacts = f"{base}/model/"
        else:
            s3io.upload_tarball(s3, model_dir, f"{base}/model.tar.gz")
            artifacts = f"{base}/model.tar.gz"
        if any(output_data_dir.iterdir()):
            s3io.upload_tarball(s3, output_data_dir, f"{base}/output.tar.gz")
    return {"S3ModelArtifacts": artifacts}


@contextlib.contextmanager
def _merged(folders: list[Path]) -> Iterator[Path]:
    """The one folder, or a scratch folder holding all of them, later ones on top."""
    if len(folders) == 1:
        yield folders[0]
        return
    with tempfile.TemporaryDirectory() as scratch:
        for folder in folders:
            shutil.copytree(folder, scratch, dirs_exist_ok=True)
        yield Path(scratch)
