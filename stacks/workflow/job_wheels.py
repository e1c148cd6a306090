"""The wheels of the locked job libraries, as files under one S3 prefix: the jobs' ``wheels`` input.

Every job installs ``training_code/requirements.lock`` offline from this input (the toolkit
from ``requirements.txt`` before ``train.py``, ``job_entry.sh`` before the Processing jobs'
programs), so nothing is fetched from the internet at job start, network isolation included.

CDK asset bundling fills the folder at synth time, locally with pip, never Docker
(``wheel_bundling.py``: the lock's wheels for ``job_image.JOB_IMAGE``, and the lock). The
folder is then published file by file under ``<asset hash>/`` in the assets bucket: SageMaker
copies each object of an input's S3 prefix as it is, and pip finds wheels only as files of a
folder, so a directory asset (one zip) would reach the job unusable.

The local cloud's jobs run in the project's virtual environment, which holds the locked
versions already; its folder holds only the lock and a README, and the offline install there
only checks the versions. A synth that skips bundling (``aws:cdk:bundling-stacks``, as every
synth from Python does: ``app.py``) gets the same prefix: the asset's hash is the lock's and
the download's, not the wheels'.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from aws_cdk import (
    AssetHashType,
    AssetStaging,
    BundlingOptions,
    DockerImage,
    FileAssetPackaging,
    ILocalBundling,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.workflow.code_asset import read_statements
from stacks.workflow.job_image import JobImage
from stacks.workflow.wheel_bundling import (
    LOCK_NAME,
    DownloadWheels,
    LockOnly,
    download_commands,
    locked_pins,
)

# BundlingOptions needs an image; it is never pulled, since the local bundling always succeeds.
_UNUSED_IMAGE = "public.ecr.aws/docker/library/busybox:stable"


def _lock_folder(lock: Path, digest: str) -> Path:
    """A folder holding only a copy of the lock: the bundling's source (what a synth that
    skips bundling publishes)."""
    folder = Path(tempfile.gettempdir()) / "llm-finetune-assets" / f"job-lock-{digest[:16]}"
    if not (folder / LOCK_NAME).exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{LOCK_NAME}.{os.getpid()}.partial"
        shutil.copyfile(lock, partial)
        partial.replace(folder / LOCK_NAME)
    return folder


class JobWheels(Construct):
    """The locked job libraries' wheels for ``image`` (``None``: the local cloud, no wheels).

    ``s3_uri`` is the prefix the jobs' ``wheels`` input reads; ``read_statements()`` the
    job role's access to it.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, lock: Path, image: JobImage | None
    ) -> None:
        super().__init__(scope, construct_id)
        bundler: ILocalBundling
        if image is None:
            bundler = LockOnly(lock)
            recipe = "local: the lock and a README"
        else:
            bundler = DownloadWheels(lock, image)
            recipe = repr(download_commands(locked_pins(lock), image, "<output>"))
        digest = hashlib.sha256(lock.read_bytes() + recipe.encode()).hexdigest()
        staging = AssetStaging(
            self,
            "Files",
            source_path=str(_lock_folder(lock, digest)),
            asset_hash=digest,
            asset_hash_type=AssetHashType.CUSTOM,
            bundling=BundlingOptions(image=DockerImage.from_registry(_UNUSED_IMAGE), local=bundler),
        )
        stack = Stack.of(self)
        self.prefix = f"{staging.asset_hash}/"
        folder = staging.relative_staged_path(stack)
        locations = [
            stack.synthesizer.add_file_asset(
                file_name=os.path.join(folder, name),
                packaging=FileAssetPackaging.FILE,
                # The object key is the source hash and the file's extension.
                source_hash=self.prefix + Path(name).stem,
            )
            for name in sorted(os.listdir(staging.absolute_staged_path))
        ]
        bucket_name = locations[0].bucket_name
        self.bucket = s3.Bucket.from_bucket_name(self, "Bucket", bucket_name)
        self.s3_uri = f"s3://{bucket_name}/{self.prefix}"

    def read_statements(self) -> list[iam.PolicyStatement]:
        """Read access to the objects under the prefix, and the listing of it."""
        return read_statements(self.node.id, self.bucket, self.prefix)
