"""S3 where moto differs from it in ways the workflow meets."""

from __future__ import annotations

import os

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from localcloud.s3 import copy_object as local_s3


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="artifacts")
        yield client


@pytest.fixture
def patched():
    local_s3.install()
    yield
    local_s3.uninstall()


def test_a_copy_of_an_object_uploaded_in_parts_reads_back_whole(s3, tmp_path, patched):
    """The training state machine copies each model file, weights uploaded in parts."""
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(os.urandom(9 * 1024 * 1024))
    s3.upload_file(
        str(weights),
        "artifacts",
        "runs/r/model/model.safetensors",
        Config=TransferConfig(multipart_threshold=8 * 1024 * 1024),
    )
    s3.copy_object(
        Bucket="artifacts",
        CopySource="artifacts/runs/r/model/model.safetensors",
        Key="models/runs/r/model/model.safetensors",
    )
    copy = s3.get_object(Bucket="artifacts", Key="models/runs/r/model/model.safetensors")
    assert copy["Body"].read() == weights.read_bytes()  # boto3 checks the checksum on the way
