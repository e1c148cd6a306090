"""A processing job that installs the locked libraries offline, as training_code/job_entry.sh does:
the local cloud refuses a venv that differs from the lock with one line, whatever pip prints."""

from __future__ import annotations

from importlib import metadata

import pytest

from tests.training.helpers import TRAINING_CODE

from .conftest import ROLE, Cloud, unique, wait_status
from .script_jobs import PROBE_WHEEL, probe_wheel

CODE = "/opt/ml/processing/input/code"
WHEELS = "/opt/ml/processing/input/wheels"
PROGRAM = "import pathlib, sys; pathlib.Path(sys.argv[1], 'ran.txt').write_text('ran')\n"


def _run(cloud: Cloud, lock: str, wheel: bool = False) -> tuple[dict, list[str]]:
    name = unique("job-entry")
    prefix = f"proc/{name}"
    cloud.put(f"{prefix}/code/job_entry.sh", (TRAINING_CODE / "job_entry.sh").read_text())
    cloud.put(f"{prefix}/code/requirements.lock", lock)
    cloud.put(f"{prefix}/code/program.py", PROGRAM)
    cloud.put(f"{prefix}/wheels/{PROBE_WHEEL if wheel else 'README'}", probe_wheel())

    def processing_input(input_name: str, local_path: str) -> dict:
        return {
            "InputName": input_name,
            "S3Input": {
                "S3Uri": f"s3://{cloud.bucket}/{prefix}/{input_name}/",
                "LocalPath": local_path,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
            },
        }

    sagemaker = cloud.client("sagemaker")
    sagemaker.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": "image",
            "ContainerEntrypoint": ["bash", f"{CODE}/job_entry.sh", "program.py"],
            "ContainerArguments": ["/opt/ml/processing/output"],
        },
        Environment={"JOB_WHEELS_DIR": WHEELS},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 5,
            }
        },
        ProcessingInputs=[processing_input("code", CODE), processing_input("wheels", WHEELS)],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": f"s3://{cloud.bucket}/{prefix}/out",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    job = wait_status(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        {"Completed", "Failed", "Stopped"},
    )
    return job, cloud.keys(f"{prefix}/out/")


def test_the_locked_versions_the_venv_holds_install_offline_and_the_program_runs(
    cloud: Cloud,
) -> None:
    job, outputs = _run(cloud, f"PyYAML=={metadata.version('PyYAML')}\n")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert [key.rsplit("/", 1)[1] for key in outputs] == ["ran.txt"]


def test_a_locked_version_the_venv_lacks_fails_the_job_with_one_line(cloud: Cloud) -> None:
    job, outputs = _run(cloud, "PyYAML==0.0.1\n")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "ClientError: the job environment differs from the job's requirements: PyYAML==0.0.1 "
        f"is locked, {metadata.version('PyYAML')} is installed; run make setup"
    )
    assert outputs == []


def test_a_wheel_pip_would_install_quietly_fails_the_job_and_leaves_the_venv(
    cloud: Cloud,
) -> None:
    job, outputs = _run(cloud, "localcloud-probe==1.0\n", wheel=True)
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "ClientError: the job environment differs from the job's requirements: "
        "localcloud-probe==1.0 is locked, it is not installed; run make setup"
    )
    assert outputs == []
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("localcloud-probe")
