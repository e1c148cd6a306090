"""S3's limits and answers: keys of at most 1,024 bytes, copies of at most 5 GB, bucket names."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.s3.models import S3Backend, s3_backends

from localcloud.s3 import copy_object
from localcloud.server import ACCOUNT_ID


@pytest.fixture(scope="module")
def bucket(aws: Callable[[str], BaseClient]) -> str:
    name = f"limits-{uuid.uuid4().hex[:8]}"
    aws("s3").create_bucket(Bucket=name)
    return name


def refused(call: Callable[[], object]) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]


def test_a_key_over_1024_bytes_of_utf8_is_too_long(
    aws: Callable[[str], BaseClient], bucket: str
) -> None:
    client = aws("s3")
    at_limit = "é" * 511 + "xx"  # 513 characters, 1,024 bytes
    over = at_limit + "x"

    error = refused(lambda: client.put_object(Bucket=bucket, Key=over, Body=b"data"))
    client.put_object(Bucket=bucket, Key=at_limit, Body=b"data")

    assert (error["Code"], error["Message"]) == ("KeyTooLongError", "Your key is too long")
    assert (error["Size"], error["MaxSizeAllowed"]) == ("1025", "1024")
    assert client.get_object(Bucket=bucket, Key=at_limit)["Body"].read() == b"data"


@pytest.mark.parametrize("name", ["Upper-Case", "a..b", "192.168.5.4", "xn--bucket", "ab"])
def test_a_bucket_name_outside_s3s_rules_is_invalid(
    aws: Callable[[str], BaseClient], name: str
) -> None:
    error = refused(lambda: aws("s3").create_bucket(Bucket=name))
    assert error["Code"] == "InvalidBucketName"
    assert error["BucketName"] == name


def test_a_valid_bucket_name_is_created(aws: Callable[[str], BaseClient]) -> None:
    name = f"a.valid-name.{uuid.uuid4().hex[:8]}"
    aws("s3").create_bucket(Bucket=name)
    assert aws("s3").head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_storage_class_outside_the_model_is_invalid(
    aws: Callable[[str], BaseClient], bucket: str
) -> None:
    def put(storage_class: str) -> dict:
        return aws("s3").put_object(
            Bucket=bucket, Key="cold", Body=b"x", StorageClass=storage_class
        )

    error = refused(lambda: put("FROZEN"))
    assert error["Code"] == "InvalidStorageClass"
    assert put("STANDARD_IA")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_requests_with_xml_bodies_are_read_and_pass(
    aws: Callable[[str], BaseClient], bucket: str
) -> None:
    """A multipart upload's completion, a batch delete and tags travel as XML documents."""
    client = aws("s3")
    client.upload_fileobj(io.BytesIO(b"w" * (9 * 1024 * 1024)), bucket, "runs/a/model.safetensors")
    client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "run", "Value": "a"}]})
    deleted = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "runs/a/model.safetensors"}]}
    )
    assert [item["Key"] for item in deleted["Deleted"]] == ["runs/a/model.safetensors"]


@pytest.fixture
def in_process_s3() -> Iterator[tuple[BaseClient, S3Backend]]:
    """moto's S3 in this process with the local cloud's patch, for objects too big to upload."""
    copy_object.install()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="big")
        yield client, s3_backends[ACCOUNT_ID]["aws"]
    copy_object.uninstall()


@pytest.mark.parametrize(
    ("size", "copied"),
    [(copy_object.MAX_COPY_SOURCE_BYTES, True), (copy_object.MAX_COPY_SOURCE_BYTES + 1, False)],
)
def test_copy_object_copies_at_most_5_gb(
    in_process_s3: tuple[BaseClient, S3Backend], size: int, copied: bool
) -> None:
    client, backend = in_process_s3
    client.put_object(Bucket="big", Key="model.safetensors", Body=b"weights")
    backend.get_object("big", "model.safetensors").contentsize = size  # as if it were that big

    def copy() -> dict:
        source = {"Bucket": "big", "Key": "model.safetensors"}
        return client.copy_object(Bucket="big", Key="models/copy", CopySource=source)

    if copied:
        assert copy()["CopyObjectResult"]["ETag"]
        return
    error = refused(copy)
    assert error["Code"] == "InvalidRequest"
    assert error["Message"] == (
        "The specified copy source is larger than the maximum allowable size for a copy source: "
        "5368709120"
    )
