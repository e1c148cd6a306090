"""An endpoint served by the project's own inference_code/local_server.py on a tiny real model."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from localcloud.sagemaker import running_pids, settings
from localcloud.sagemaker.settings import LOCAL_SERVER

from .conftest import Cloud, pid_alive, unique
from .test_endpoints import create_config, create_model, wait_endpoint

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LOCAL_SERVER.is_file(), reason="inference_code/local_server.py missing"),
]


@pytest.fixture
def real_server(cloud: Cloud) -> Iterator[None]:
    """Endpoints started during the test run the real local server instead of the stand-in."""
    before = settings.current()
    settings.configure(
        dataclasses.replace(before, endpoint_server=LOCAL_SERVER, endpoint_startup_timeout_s=180)
    )
    try:
        yield
    finally:
        settings.configure(before)


def test_the_local_server_serves_a_model_from_s3_through_invoke_endpoint(
    cloud: Cloud, real_server: None
) -> None:
    from cli.sample_models import tiny_model_dir

    name = unique("tiny")
    model_dir = tiny_model_dir()
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            cloud.put(f"models/{name}/{path.relative_to(model_dir).as_posix()}", path.read_bytes())
    create_model(
        cloud,
        name,
        {
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": f"s3://{cloud.bucket}/models/{name}/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            }
        },
    )
    create_config(cloud, name, name, "ml.g6e.xlarge")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    endpoint = wait_endpoint(cloud, name)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")

    runtime = cloud.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName=name,
        ContentType="application/json",
        Body=json.dumps(
            {"messages": [{"role": "user", "content": "SELECT"}], "max_tokens": 4, "temperature": 0}
        ),
    )
    reply = json.loads(answer["Body"].read())
    assert isinstance(reply["choices"][0]["message"]["content"], str)
    assert reply["usage"]["completion_tokens"] <= 4
    with pytest.raises(runtime.exceptions.ModelError) as bad:
        runtime.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=b"[]")
    assert 400 <= bad.value.response["OriginalStatusCode"] < 500

    pids = running_pids()
    sagemaker.delete_endpoint(EndpointName=name)
    assert pids and not any(pid_alive(pid) for pid in pids)
