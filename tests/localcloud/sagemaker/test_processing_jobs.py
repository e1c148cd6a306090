"""Processing jobs: S3 inputs in, the container command run locally, outputs back to S3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from localcloud.sagemaker import running_pids

from .conftest import ROLE, Cloud, pid_alive, unique, wait_for, wait_status

PROCESS_PY = """
import argparse, json, os, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--fail", default="")
args = parser.parse_args()
if args.fail:
    sys.exit(f"RecordError: {args.fail}")
raw = pathlib.Path(args.input, "raw.jsonl").read_text()
lines = [json.loads(line) for line in raw.splitlines()]
out = pathlib.Path(args.output)
(out / "split").mkdir(parents=True, exist_ok=True)
(out / "split" / "train.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in lines[:2]))
(out / "stats.json").write_text(json.dumps({
    "records": len(lines),
    "seed": os.environ["SEED"],
    "python": sys.executable,
    "cwd": os.getcwd(),
}))
"""


def processing_request(cloud: Cloud, name: str, *arguments: str, bash: bool = False) -> dict:
    code = cloud.put(f"proc/{name}/code/process.py", PROCESS_PY)
    data = cloud.put(f"proc/{name}/raw/raw.jsonl", '{"q": 1}\n{"q": 2}\n{"q": 3}\n')
    command = [
        "python3",
        "/opt/ml/processing/input/code/process.py",
        "--input",
        "/opt/ml/processing/input/data",
        "--output",
        "/opt/ml/processing/output",
        *arguments,
    ]
    if bash:
        app = {"ContainerEntrypoint": ["bash", "-c", " ".join(command)]}
    else:
        app = {"ContainerEntrypoint": command[:2], "ContainerArguments": command[2:]}
    return {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": "python:3.11", **app},
        "Environment": {"SEED": "42"},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 10,
            }
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": code,
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": data.rsplit("/", 1)[0] + "/",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "prepared",
                    "S3Output": {
                        "S3Uri": f"s3://{cloud.bucket}/proc/{name}/prepared",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def wait_done(cloud: Cloud, name: str) -> dict:
    sagemaker = cloud.client("sagemaker")
    return wait_status(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        {"Completed", "Failed", "Stopped"},
    )


def test_a_processing_job_downloads_inputs_runs_and_uploads_outputs(cloud: Cloud) -> None:
    name = unique("prep")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_processing_job(**processing_request(cloud, name))
    assert sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == (
        "InProgress"
    )
    job = wait_done(cloud, name)
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["Environment"] == {"SEED": "42"}
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert job["ProcessingEndTime"] >= job["ProcessingStartTime"]
    stats = json.loads(cloud.get(f"proc/{name}/prepared/stats.json"))
    assert stats["records"] == 3 and stats["seed"] == "42"
    assert stats["cwd"] == str(cloud.state_dir / "jobs" / name)
    assert cloud.keys(f"proc/{name}/prepared/") == [
        f"proc/{name}/prepared/split/train.jsonl",
        f"proc/{name}/prepared/stats.json",
    ]
    assert (cloud.state_dir / "logs" / "ProcessingJobs" / f"{name}.log").is_file()


def test_a_bash_script_finds_the_project_python_and_rewritten_paths(cloud: Cloud) -> None:
    name = unique("prep-bash")
    cloud.client("sagemaker").create_processing_job(**processing_request(cloud, name, bash=True))
    job = wait_done(cloud, name)
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    stats = json.loads(cloud.get(f"proc/{name}/prepared/stats.json"))
    assert stats["records"] == 3
    # `python3` inside the script is the venv's interpreter (PATH starts with the venv's bin).
    assert "/.venv/bin/python" in stats["python"]


def test_a_failing_processing_job_reports_the_error_and_uploads_nothing(cloud: Cloud) -> None:
    name = unique("prep-fail")
    request = processing_request(cloud, name, "--fail", "line 7: no messages field")
    cloud.client("sagemaker").create_processing_job(**request)
    job = wait_done(cloud, name)
    assert job["ProcessingJobStatus"] == "Failed"
    assert "RecordError: line 7: no messages field" in job["FailureReason"]
    assert "ExitCode 1" in job["FailureReason"]
    assert cloud.keys(f"proc/{name}/prepared/") == []


def test_stop_processing_job_kills_the_process(cloud: Cloud) -> None:
    name = unique("prep-stop")
    request = processing_request(cloud, name)
    request["AppSpecification"] = {
        "ImageUri": "python:3.11",
        "ContainerEntrypoint": ["python3", "-c", "import time; time.sleep(60)"],
    }
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_processing_job(**request)
    pids = wait_for(running_pids, 30, "the processing job's process")
    sagemaker.stop_processing_job(ProcessingJobName=name)
    job = wait_done(cloud, name)
    assert job["ProcessingJobStatus"] == "Stopped"
    assert not any(pid_alive(pid) for pid in pids)
    with pytest.raises(ClientError, match="in status Stopped"):
        sagemaker.stop_processing_job(ProcessingJobName=name)
