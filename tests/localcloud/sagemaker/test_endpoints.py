"""Endpoints start a local server on the model's artifacts; InvokeEndpoint reaches it."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from botocore.exceptions import ClientError

from localcloud.sagemaker import running_pids

from .conftest import ROLE, Cloud, pid_alive, unique, wait_for, wait_status

SERVING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"


def create_model(cloud: Cloud, name: str, container: dict) -> None:
    cloud.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": SERVING_IMAGE, **container},
    )


def create_config(cloud: Cloud, name: str, model: str, instance_type: str) -> None:
    cloud.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )


def uncompressed_model(cloud: Cloud, prefix: str, model_name: str) -> dict:
    cloud.put(f"{prefix}/config.json", json.dumps({"name": model_name}))
    return {
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": f"s3://{cloud.bucket}/{prefix}/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
        "Environment": {"GREETING": "hello from /opt/ml/model"},
    }


def wait_endpoint(cloud: Cloud, name: str, done: frozenset = frozenset({"InService", "Failed"})):
    sagemaker = cloud.client("sagemaker")
    return wait_status(
        lambda: sagemaker.describe_endpoint(EndpointName=name), "EndpointStatus", set(done)
    )


def chat(cloud: Cloud, endpoint: str, text: str) -> dict:
    answer = cloud.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Body=json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 8}),
    )
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    return json.loads(answer["Body"].read())


def test_endpoint_lifecycle_create_invoke_update_delete(cloud: Cloud) -> None:
    name = unique("endpoint")
    sagemaker = cloud.client("sagemaker")
    create_model(cloud, f"{name}-m1", uncompressed_model(cloud, f"models/{name}/v1", "first"))
    create_config(cloud, f"{name}-c1", f"{name}-m1", "ml.g5.2xlarge")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c1")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    endpoint = wait_endpoint(cloud, name)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    served = cloud.state_dir / "endpoints" / name / "model" / "config.json"
    assert json.loads(served.read_text()) == {"name": "first"}

    reply = chat(cloud, name, "ping?")
    assert reply["choices"][0]["message"]["content"] == "first says: ping?"
    # /opt/ml in the container's environment points into the endpoint's sandbox.
    assert reply["env"]["GREETING"] == f"hello from {served.parent}"

    runtime = cloud.client("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ModelError) as bad:
        runtime.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=b"{}")
    assert bad.value.response["OriginalStatusCode"] == 400
    assert "bad request: KeyError" in bad.value.response["Error"]["Message"]

    # UpdateEndpoint: a gzipped model; the old server answers until the new one is ready.
    first_pids = running_pids()
    tarball = cloud.put_tarball(
        f"models/{name}/v2/model.tar.gz", {"config.json": '{"name": "second"}'}
    )
    create_model(cloud, f"{name}-m2", {"ModelDataUrl": tarball})
    create_config(cloud, f"{name}-c2", f"{name}-m2", "ml.g6e.xlarge")
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c2")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    updated = wait_endpoint(cloud, name, frozenset({"InService"}))
    assert updated["EndpointConfigName"] == f"{name}-c2"
    assert chat(cloud, name, "again")["choices"][0]["message"]["content"] == "second says: again"
    assert not any(pid_alive(pid) for pid in first_pids)

    pids = running_pids()
    assert len(pids) == 1
    sagemaker.delete_endpoint(EndpointName=name)
    assert not pid_alive(pids[0])
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sagemaker.describe_endpoint(EndpointName=name)
    with pytest.raises(ClientError) as gone:
        chat(cloud, name, "anyone?")
    assert gone.value.response["Error"]["Code"] == "ValidationError"


def test_an_endpoint_whose_server_exits_at_start_up_fails_with_the_reason(cloud: Cloud) -> None:
    name = unique("endpoint-bad")
    container = uncompressed_model(cloud, f"models/{name}", "broken")
    cloud.put(f"models/{name}/FAIL", "")
    create_model(cloud, name, container)
    create_config(cloud, name, name, "ml.m5.xlarge")
    cloud.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=name)
    endpoint = wait_endpoint(cloud, name)
    assert endpoint["EndpointStatus"] == "Failed"
    assert "exited with code 3" in endpoint["FailureReason"]
    assert "RuntimeError: refusing to serve" in endpoint["FailureReason"]
    assert running_pids() == []
    log = cloud.state_dir / "logs" / "Endpoints" / f"{name}.log"
    assert "refusing to serve" in log.read_text()


def test_deleting_an_endpoint_while_it_is_created_stops_its_server(cloud: Cloud) -> None:
    name = unique("endpoint-early")
    create_model(cloud, name, uncompressed_model(cloud, f"models/{name}", "early"))
    create_config(cloud, name, name, "ml.g5.2xlarge")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    pids = wait_for(running_pids, 30, "the endpoint's server to start")
    sagemaker.delete_endpoint(EndpointName=name)
    assert not any(pid_alive(pid) for pid in pids)
    assert running_pids() == []
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)
    with pytest.raises(ClientError, match="Could not find model"):
        sagemaker.describe_model(ModelName=name)


def test_resetting_moto_stops_the_servers_of_the_endpoints_it_forgets(cloud: Cloud) -> None:
    name = unique("endpoint-reset")
    create_model(cloud, name, uncompressed_model(cloud, f"models/{name}", "reset"))
    create_config(cloud, name, name, "ml.g5.2xlarge")
    cloud.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=name)
    assert wait_endpoint(cloud, name)["EndpointStatus"] == "InService"
    pids = running_pids()
    request = urllib.request.Request(f"{cloud.endpoint_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()
    try:
        assert pids
        wait_for(lambda: not any(pid_alive(pid) for pid in pids), 15, "the server to stop")
        assert running_pids() == []
    finally:
        cloud.client("s3").create_bucket(Bucket=cloud.bucket)  # the reset removed it


def test_a_server_that_dies_fails_the_endpoint_and_leaves_nothing_running(cloud: Cloud) -> None:
    name = unique("endpoint-dies")
    container = uncompressed_model(cloud, f"models/{name}", "mortal")
    container["Environment"] = {"STANDIN_DIE_AFTER_SECONDS": "2"}
    create_model(cloud, name, container)
    create_config(cloud, name, name, "ml.g5.2xlarge")
    cloud.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=name)
    assert wait_endpoint(cloud, name)["EndpointStatus"] == "InService"
    log = cloud.state_dir / "logs" / "Endpoints" / f"{name}.log"
    helper = int(wait_for(lambda: re.search(r"helper=(\d+)", log.read_text()), 10, "helper")[1])

    endpoint = wait_endpoint(cloud, name, frozenset({"Failed"}))
    assert "the local server exited with code 4" in endpoint["FailureReason"]
    assert "RuntimeError: the stand-in server crashed" in endpoint["FailureReason"]
    assert not pid_alive(helper)  # orphaned to init, it would outlive the local cloud
