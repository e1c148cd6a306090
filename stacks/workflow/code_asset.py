"""Source folders packaged as the ``.tar.gz`` the SageMaker framework containers expect.

The sagemaker-training toolkit unpacks ``sagemaker_submit_directory`` (here the tarball in the
training job's ``code`` channel) as a gzipped tarball; CDK's own directory assets are zip
files. So the folder is packed here, at synth time, byte for byte the same on every run
(sorted entries, mtime 0, owner 0, no gzip timestamp), and uploaded as a file asset: the
asset hash changes only when the code does.

Every code asset carries the shared ``contracts`` package too, packed under its own name at the
archive's top level, where the folder's modules import it as they do in the repository.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
SHARED_PACKAGES = (ROOT / "contracts",)
EXCLUDED_NAMES = frozenset({"__pycache__", "tests", ".pytest_cache", ".ipynb_checkpoints"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _included(relative: Path) -> bool:
    if any(part in EXCLUDED_NAMES or part.startswith(".") for part in relative.parts):
        return False
    return not relative.name.endswith(EXCLUDED_SUFFIXES)


def source_files(source: Path) -> list[Path]:
    """The files that go into the tarball, as paths relative to ``source``, sorted."""
    found = (path.relative_to(source) for path in source.rglob("*") if path.is_file())
    return sorted((path for path in found if _included(path)), key=lambda p: p.as_posix())


def packed_files(source: Path, packages: Sequence[Path] = ()) -> dict[str, Path]:
    """Archive name -> file: ``source``'s files, then each package's under its folder name."""
    files = {relative.as_posix(): source / relative for relative in source_files(source)}
    for package in packages:
        for relative in source_files(package):
            files[f"{package.name}/{relative.as_posix()}"] = package / relative
    return files


def tarball_bytes(source: Path, packages: Sequence[Path] = ()) -> bytes:
    """A deterministic ``.tar.gz`` of ``source`` (files at the archive's top level) and
    ``packages`` (each in a folder of its name).
    """
    files = packed_files(source, packages)
    if not files:
        raise ValueError(f"{source} has no files to package")
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            path = files[name]
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_tarball(source: Path, name: str, packages: Sequence[Path] = ()) -> Path:
    """Packs ``source`` and ``packages`` into the temp folder, named by content.

    Returns:
        The ``.tar.gz`` file.
    """
    data = tarball_bytes(source, packages)
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "llm-finetune-assets"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}-{digest}.tar.gz"
    if not target.exists():
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(target)
    return target


class CodeAsset(Construct):
    """One source folder and the shared packages as an S3 file asset holding its ``.tar.gz``."""

    def __init__(self, scope: Construct, construct_id: str, *, source: Path) -> None:
        super().__init__(scope, construct_id)
        self.source = source
        tarball = write_tarball(source, construct_id, SHARED_PACKAGES)
        self.asset = s3_assets.Asset(self, "Tarball", path=str(tarball))

    @property
    def s3_uri(self) -> str:
        """``s3://bucket/key.tar.gz`` (a token until deploy time)."""
        return self.asset.s3_object_url

    def read_statements(self) -> list[iam.PolicyStatement]:
        """Read access to exactly this object."""
        return read_statements(self.node.id, self.asset.bucket, self.asset.s3_object_key)


def read_statements(name: str, bucket: s3.IBucket, key: str) -> list[iam.PolicyStatement]:
    """Read access to the object ``key`` of ``bucket``, or to every object under ``key`` when
    it ends in ``/``, as statements ``Read<name>`` and ``List<name>`` (CDK's ``grant_read``
    adds wildcard actions).
    """
    objects = f"{key}*" if key.endswith("/") else key
    return [
        iam.PolicyStatement(
            sid=f"Read{name}",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(objects)],
        ),
        # Processing inputs and training channels of type S3Prefix list the key before
        # downloading it.
        iam.PolicyStatement(
            sid=f"List{name}",
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringEquals": {"s3:prefix": [key]}},
        ),
    ]
