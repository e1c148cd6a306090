"""Network-isolated jobs run without network, as on AWS; the platform still stages their data."""

from __future__ import annotations

import json

import pytest

from localcloud.sagemaker import isolation

from .conftest import ROLE, Cloud, unique, wait_status
from .script_jobs import log_of, run_job, script_job

needs_namespaces = pytest.mark.skipif(
    isolation.support().problem is not None,
    reason=f"network isolation needs Linux namespaces: {isolation.support().problem}",
)

# Reaches the local cloud (where boto3 inside a job goes) or resolves a public name.
REACH_PY = """
import argparse, os, pathlib, socket, urllib.parse
parser = argparse.ArgumentParser()
parser.add_argument("--check", required=True)
args = parser.parse_args()
if args.check == "connect":
    url = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
    socket.create_connection((url.hostname, url.port), timeout=5).close()
else:
    socket.getaddrinfo("s3.us-east-1.amazonaws.com", 443)
pathlib.Path(os.environ["SM_MODEL_DIR"], "reached.txt").write_text(args.check)
"""

PROCESSING_REACH_PY = """
import os, pathlib, socket, sys, urllib.parse
url = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
try:
    socket.create_connection((url.hostname, url.port), timeout=5).close()
    reached = "reached"
except OSError as error:
    reached = type(error).__name__
pathlib.Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
pathlib.Path(sys.argv[1], "out.txt").write_text(reached)
"""


def _reach(cloud: Cloud, check: str, isolated: bool) -> dict:
    name = unique(f"iso-{check}")
    request = script_job(
        cloud,
        name,
        {"train.py": REACH_PY},
        isolated=isolated,
        hyperparameters={"check": json.dumps(check)},
    )
    return run_job(cloud, request)


@needs_namespaces
def test_an_isolated_job_cannot_reach_the_local_cloud_and_the_same_job_without_can(
    cloud: Cloud,
) -> None:
    isolated = _reach(cloud, "connect", isolated=True)
    assert isolated["TrainingJobStatus"] == "Failed"
    assert 'ErrorMessage "ConnectionRefusedError: [Errno 111]' in isolated["FailureReason"]
    open_job = _reach(cloud, "connect", isolated=False)
    assert open_job["TrainingJobStatus"] == "Completed", open_job.get("FailureReason")


@needs_namespaces
def test_an_isolated_job_cannot_resolve_a_host_name(cloud: Cloud) -> None:
    job = _reach(cloud, "resolve", isolated=True)
    assert job["TrainingJobStatus"] == "Failed"
    assert 'ErrorMessage "socket.gaierror: [Errno -3]' in job["FailureReason"]
    assert "(network isolated)" in log_of(cloud, job["TrainingJobName"])


@needs_namespaces
def test_an_isolated_job_cannot_download_an_s3_submit_directory_but_gets_the_code_channel(
    cloud: Cloud,
) -> None:
    files = {"train.py": "print('trained')"}
    # botocore retries a refused connection with back-off; one attempt keeps the test short.
    quick = {"AWS_MAX_ATTEMPTS": "1"}
    name = unique("iso-s3-code")
    request = script_job(cloud, name, files, code_channel=False, isolated=True, environment=quick)
    job = run_job(cloud, request)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        "AlgorithmError: Framework Error: \nEndpointConnectionError: Could not connect to the "
        'endpoint URL: "http://localhost:'
    )
    name = unique("iso-code-channel")
    job = run_job(cloud, script_job(cloud, name, files, isolated=True, environment=quick))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert "trained" in log_of(cloud, name)


@needs_namespaces
def test_pip_install_from_an_index_fails_in_an_isolated_job(cloud: Cloud) -> None:
    name = unique("iso-pip")
    files = {"train.py": "print('trained')", "requirements.txt": "localcloud-probe==1.0\n"}
    # One retry: its warning is where pip says why the index is out of reach.
    request = script_job(cloud, name, files, isolated=True, environment={"PIP_RETRIES": "1"})
    job = run_job(cloud, request)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        "ClientError: pip could not reach a package index: a network-isolated job has no "
        "network (No matching distribution found for localcloud-probe==1.0)"
    )


@needs_namespaces
def test_an_isolated_processing_job_runs_without_network_and_its_output_is_uploaded(
    cloud: Cloud,
) -> None:
    script = cloud.put(f"scripts/{unique('reach')}/reach.py", PROCESSING_REACH_PY)
    sagemaker = cloud.client("sagemaker")
    results = {}
    for isolated in (True, False):
        name = unique("iso-processing")
        sagemaker.create_processing_job(
            ProcessingJobName=name,
            RoleArn=ROLE,
            AppSpecification={
                "ImageUri": "image",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/reach.py"],
                "ContainerArguments": ["/opt/ml/processing/output"],
            },
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 10,
                }
            },
            ProcessingInputs=[
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": script,
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": f"s3://{cloud.bucket}/processed/{name}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            NetworkConfig={"EnableNetworkIsolation": isolated},
        )
        job = wait_status(
            lambda name=name: sagemaker.describe_processing_job(ProcessingJobName=name),
            "ProcessingJobStatus",
            {"Completed", "Failed", "Stopped"},
        )
        assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
        results[isolated] = cloud.get(f"processed/{name}/out.txt").decode()
    assert results == {True: "ConnectionRefusedError", False: "reached"}


def test_where_namespaces_are_unavailable_the_job_says_so_and_runs_with_the_network(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "support", lambda: isolation.Support("probe refused", False))
    job = _reach(cloud, "connect", isolated=True)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert (
        f"[localcloud] {job['TrainingJobName']}: cannot enforce network isolation here "
        "(probe refused); the job runs with the network"
    ) in log_of(cloud, job["TrainingJobName"])
