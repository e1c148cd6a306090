"""One local cloud per test session, shared by every local-cloud test (starting one costs ~2 s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.client import BaseClient

from localcloud.server import LocalCloud, start


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A running local cloud, stopped (with everything it started) at the end of the session."""
    with start(state_dir=tmp_path_factory.mktemp("localcloud")) as cloud:
        yield cloud


@pytest.fixture(scope="session")
def aws(local_cloud: LocalCloud) -> Callable[[str], BaseClient]:
    """``aws("s3")``: a boto3 client of the local cloud."""

    def client(service: str) -> BaseClient:
        return boto3.client(
            service,
            endpoint_url=local_cloud.endpoint_url,
            region_name=local_cloud.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client
