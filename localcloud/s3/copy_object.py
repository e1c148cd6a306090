"""S3 as the workflow uses it, where moto's mock differs from S3.

CopyObject of an object that was uploaded in parts: S3 writes the copy as one object, with the
checksum of its bytes; moto keeps the source's parts and its checksum of them, so a reader that
checks checksums (boto3 does by default) refuses the copy. The training state machine copies
each trained model file (the weights are uploaded in parts) to ``models/``.

CopyObject of a source over 5 GB: S3 refuses it ("You can create a copy of your object up to
5 GB in size in a single atomic action", https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html)
with ``InvalidRequest``; moto copied any size. (Keys over 1,024 bytes are refused for every
request by ``localcloud.validation.s3_rules``.)
"""

from __future__ import annotations

from typing import Any

from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend
from moto.s3.utils import compute_checksum

from localcloud.patching import Patches

MAX_COPY_SOURCE_BYTES = 5 * 1024**3  # 5,368,709,120

PATCHES = Patches()


class CopySourceTooLarge(S3ClientError):
    """S3's answer to a CopyObject whose source is over 5 GB (HTTP 400)."""

    def __init__(self) -> None:
        super().__init__(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {MAX_COPY_SOURCE_BYTES}",
        )


def _copy_object(
    self: S3Backend, src_key: Any, dest_bucket_name: str, dest_key_name: str, *args, **kwargs
) -> Any:
    if src_key.size > MAX_COPY_SOURCE_BYTES:
        raise CopySourceTooLarge()
    moto_copy = PATCHES.original(S3Backend, "copy_object")
    result = moto_copy(self, src_key, dest_bucket_name, dest_key_name, *args, **kwargs)
    if src_key.multipart is not None:
        copy = self.get_object(dest_bucket_name, dest_key_name)
        copy.multipart = None
        if copy.checksum_algorithm:
            copy.checksum_value = compute_checksum(copy.value, copy.checksum_algorithm).decode()
    return result


def install() -> Patches:
    """Copies of multipart objects are single objects with their own checksum, and sources over
    5 GB are refused (idempotent); :func:`uninstall` undoes it."""
    if not PATCHES.applied:
        PATCHES.set(S3Backend, "copy_object", _copy_object)
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own CopyObject."""
    PATCHES.restore()
