"""S3's own answers to requests it refuses, which are not Coral's validation messages.

- An object key is at most 1,024 bytes of UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html);
  a longer one is ``KeyTooLongError`` "Your key is too long" (HTTP 400), with ``Size`` and
  ``MaxSizeAllowed`` (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
- A new bucket's name follows the general purpose bucket naming rules
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html); moto checks
  the length only. Otherwise ``InvalidBucketName`` "The specified bucket is not valid."
- A storage class outside the model's enum is ``InvalidStorageClass`` "The storage class you
  specified is not valid"; any other member that breaks the model is ``InvalidArgument`` naming
  it (``ArgumentName``, ``ArgumentValue``), S3's answer to a bad header or query value.

CopyObject's 5 GB source limit needs the source's size, so it is applied in
``localcloud/s3/copy_object.py``.
"""

from __future__ import annotations

import ipaddress
import re

from localcloud.validation.constraints import check
from localcloud.validation.responses import Refusal
from localcloud.validation.wire import Call

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Which naming rule ``name`` breaks, or None."""
    if _BUCKET.fullmatch(name) is None:
        return (
            "3 to 63 characters: lowercase letters, numbers, dots and hyphens, beginning and "
            "ending with a letter or number"
        )
    if ".." in name:
        return "no two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
        return "not formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "no reserved prefix or suffix"
    return None


def refusal(call: Call) -> Refusal | None:
    """S3's error for ``call``, or None when S3 would accept it (as far as checked here)."""
    key = call.params.get("Key")
    if isinstance(key, str) and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        size = str(len(key.encode("utf-8")))
        details = {"Size": size, "MaxSizeAllowed": str(MAX_KEY_BYTES)}
        return Refusal("KeyTooLongError", "Your key is too long", details=details)
    bucket = call.params.get("Bucket")
    if call.operation.name == "CreateBucket" and isinstance(bucket, str):
        problem = bucket_name_problem(bucket)
        if problem is not None:
            message = f"The specified bucket is not valid. ({problem})"
            return Refusal("InvalidBucketName", message, details={"BucketName": bucket})
    shape = call.operation.input_shape
    violations = check(call.params, shape) if shape is not None else []
    if not violations:
        return None
    first = violations[0]
    if first.api_path == "StorageClass":
        message = "The storage class you specified is not valid"
        details = {"StorageClassRequested": str(first.value)}
        return Refusal("InvalidStorageClass", message, details=details)
    argument = shape.members.get(first.api_path.split(".")[0].split("[")[0]) if shape else None
    name = argument.serialization.get("name", first.api_path) if argument else first.api_path
    details = {"ArgumentName": name, "ArgumentValue": str(first.value)}
    return Refusal("InvalidArgument", first.describe(api_names=True), details=details)
