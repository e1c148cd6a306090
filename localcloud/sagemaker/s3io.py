"""Copying between the local cloud's S3 and a job's sandbox, as SageMaker does around a job."""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

from botocore.client import BaseClient


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``.

    Raises:
        ValueError: if ``uri`` is not an ``s3://`` URI with a bucket.
    """
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def download_prefix(s3: BaseClient, uri: str, dest: Path) -> int:
    """Downloads every object under ``uri`` into ``dest``, keeping the layout below the prefix.

    ``uri`` may name one object (it lands as ``dest/<file name>``) or a prefix with or without
    a trailing slash (``s3://b/data/train`` gives ``dest/a.jsonl`` for ``data/train/a.jsonl``).

    Returns:
        How many files were written.

    Raises:
        FileNotFoundError: if nothing exists under ``uri``, as SageMaker fails such a channel.
    """
    bucket, prefix = split_uri(uri)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/"):
                continue  # a "folder" marker object, not data
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            count += 1
    if count == 0:
        raise FileNotFoundError(f"no S3 objects found under {uri}")
    return count


def download_manifest(s3: BaseClient, manifest_uri: str, dest: Path) -> int:
    """Downloads the objects a SageMaker manifest file lists (``[{"prefix": ...}, "key", ...]``).

    Returns:
        How many files were written.
    """
    bucket, key = split_uri(manifest_uri)
    entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if not entries or not isinstance(entries[0], dict) or "prefix" not in entries[0]:
        raise ValueError(f"manifest {manifest_uri} does not start with a {{'prefix': ...}} entry")
    base_bucket, base_key = split_uri(entries[0]["prefix"])
    for relative in entries[1:]:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(base_bucket, base_key + relative, str(target))
    return len(entries) - 1


def download_and_extract(s3: BaseClient, uri: str, dest: Path) -> None:
    """Downloads a ``.tar.gz`` object and unpacks it into ``dest``."""
    bucket, key = split_uri(uri)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "archive.tar.gz"
        s3.download_file(bucket, key, str(archive))
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")


def upload_dir(s3: BaseClient, source: Path, uri: str) -> int:
    """Uploads every file below ``source`` to the prefix ``uri``; returns how many."""
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/")
    count = 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(source).as_posix()}".lstrip("/")
            s3.upload_file(str(path), bucket, key)
            count += 1
    return count


def upload_tarball(s3: BaseClient, source: Path, uri: str) -> None:
    """Packs the contents of ``source`` into a ``.tar.gz`` and uploads it to ``uri``."""
    bucket, key = split_uri(uri)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "archive.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(source.iterdir()):
                tar.add(path, arcname=path.name)
        s3.upload_file(str(archive), bucket, key)


class DirSync:
    """Uploads the files of a folder that are new or changed since the last call.

    SageMaker copies ``/opt/ml/checkpoints`` to S3 continuously while a job runs; calling
    :meth:`sync` every few seconds does the same.
    """

    def __init__(self, s3: BaseClient, source: Path, uri: str):
        self._s3 = s3
        self._source = source
        self._bucket, prefix = split_uri(uri)
        self._prefix = prefix.rstrip("/")
        self._seen: dict[Path, tuple[float, int]] = {}

    def mark_present(self) -> None:
        """Records the files already in the folder (just downloaded) as uploaded."""
        self._seen = {path: _stamp(path) for path in self._files()}

    def sync(self) -> int:
        """Uploads what changed; returns how many files were uploaded."""
        uploaded = 0
        for path in self._files():
            try:
                stamp = _stamp(path)
            except FileNotFoundError:
                continue  # the job replaced it while we looked
            if self._seen.get(path) == stamp:
                continue
            key = f"{self._prefix}/{path.relative_to(self._source).as_posix()}".lstrip("/")
            try:
                self._s3.upload_file(str(path), self._bucket, key)
            except FileNotFoundError:
                continue
            self._seen[path] = stamp
            uploaded += 1
        return uploaded

    def _files(self) -> list[Path]:
        return [path for path in sorted(self._source.rglob("*")) if path.is_file()]


def _stamp(path: Path) -> tuple[float, int]:
    stat = path.stat()
    return stat.st_mtime, stat.st_size
