"""S3 as the workflow uses it, where moto's mock differs from S3.

CopyObject of an object that was uploaded in parts: S3 writes the copy as one object, with the
checksum of its bytes; moto keeps the source's parts and its checksum of them, so a reader that
checks checksums (boto3 does by default) refuses the copy. The training state machine copies
each trained model file (the weights are uploaded in parts) to ``models/``.
"""

from __future__ import annotations

from typing import Any

from moto.s3.models import S3Backend
from moto.s3.utils import compute_checksum

_original_copy_object = S3Backend.copy_object


def _copy_object(
    self: S3Backend, src_key: Any, dest_bucket_name: str, dest_key_name: str, *args, **kwargs
) -> Any:
    result = _original_copy_object(self, src_key, dest_bucket_name, dest_key_name, *args, **kwargs)
    if src_key.multipart is not None:
        copy = self.get_object(dest_bucket_name, dest_key_name)
        copy.multipart = None
        if copy.checksum_algorithm:
            copy.checksum_value = compute_checksum(copy.value, copy.checksum_algorithm).decode()
    return result


def install() -> None:
    """Copies of multipart objects are single objects with their own checksum (idempotent)."""
    S3Backend.copy_object = _copy_object  # type: ignore[method-assign]
