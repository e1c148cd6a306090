"""Training jobs run their entry point from the uploaded source tarball, as SageMaker does."""

from __future__ import annotations

import io
import json
import re
import tarfile

import pytest
from botocore.exceptions import ClientError

from localcloud.sagemaker import running_pids

from .conftest import IMAGE, ROLE, Cloud, pid_alive, unique, wait_for, wait_status

# The entry point a test job runs: it checks the container contract from the inside and writes
# what it saw into the model folder, where the test reads it back from S3.
TRAIN_PY = """
import argparse, json, os, pathlib, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, required=True)
parser.add_argument("--learning_rate", type=float, required=True)
parser.add_argument("--recipe", required=True)
parser.add_argument("--checkpoint_dir", default="")
parser.add_argument("--fail_with", default="")
parser.add_argument("--sleep", type=float, default=0)
args = parser.parse_args()
if args.fail_with:
    print("about to fail", flush=True)
    raise ValueError(args.fail_with)
time.sleep(args.sleep)
model_dir = pathlib.Path(os.environ["SM_MODEL_DIR"])
checkpoints = pathlib.Path(args.checkpoint_dir) if args.checkpoint_dir else None
resumed = sorted(p.name for p in checkpoints.iterdir()) if checkpoints else []
if checkpoints:
    (checkpoints / "step-2.txt").write_text("second run")
rank = os.environ.get("RANK", "0")
train_file = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"], "data.jsonl")
report = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "rows": len(train_file.read_text().splitlines()),
    "hps": json.loads(os.environ["SM_HPS"]),
    "channels": json.loads(os.environ["SM_CHANNELS"]),
    "num_gpus": os.environ["SM_NUM_GPUS"],
    "hosts": json.loads(os.environ["SM_HOSTS"]),
    "job_name": json.loads(os.environ["SM_TRAINING_ENV"])["job_name"],
    "output_data_dir": os.environ["SM_OUTPUT_DATA_DIR"],
    "hub_offline": os.environ.get("HF_HUB_OFFLINE"),
    "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
    "setting": os.environ.get("MY_SETTING"),
    "resumed": resumed,
    "world_size": os.environ.get("WORLD_SIZE"),
}
(model_dir / f"report-{rank}.json").write_text(json.dumps(report))
(model_dir / "config.json").write_text(json.dumps({"name": "trained"}))
pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "metrics.txt").write_text("ok")
print(f"epoch 1: train_loss=0.75", flush=True)
print(f"epoch 2: train_loss=0.5 eval_loss=0.625", flush=True)
"""


def training_request(cloud: Cloud, name: str, **hyperparameters: str) -> dict:
    """A CreateTrainingJob request shaped as the Hugging Face estimator sends it."""
    source = cloud.put_tarball(f"code/{name}/sourcedir.tar.gz", {"train.py": TRAIN_PY})
    data = cloud.put(f"data/{name}/train/data.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "train:loss", "Regex": r"train_loss=([0-9.]+)"},
                {"Name": "eval:loss", "Regex": r"eval_loss=([0-9.]+)"},
            ],
        },
        "RoleArn": ROLE,
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": json.dumps(source),
            "epochs": "2",
            "learning_rate": "0.0002",
            "recipe": '"lora"',
            **hyperparameters,
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": data.rsplit("/", 1)[0],
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{cloud.bucket}/output",
            "CompressionType": "NONE",
        },
        "ResourceConfig": {
            "InstanceType": "ml.g5.2xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Environment": {"MY_SETTING": "from-environment"},
    }


def wait_done(cloud: Cloud, name: str, timeout_s: float = 60) -> dict:
    sagemaker = cloud.client("sagemaker")
    return wait_status(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        "TrainingJobStatus",
        {"Completed", "Failed", "Stopped"},
        timeout_s,
    )


def test_a_training_job_runs_the_entry_point_with_the_container_contract(cloud: Cloud) -> None:
    name = unique("train")
    cloud.put(f"checkpoints/{name}/step-1.txt", "first run")
    request = training_request(cloud, name, checkpoint_dir="/opt/ml/checkpoints")
    request["CheckpointConfig"] = {"S3Uri": f"s3://{cloud.bucket}/checkpoints/{name}"}
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_training_job(**request)
    first = sagemaker.describe_training_job(TrainingJobName=name)
    assert first["TrainingJobStatus"] == "InProgress"

    job = wait_done(cloud, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://{cloud.bucket}/output/{name}/output/model/"
    )
    report = json.loads(cloud.get(f"output/{name}/output/model/report-0.json"))
    sandbox = cloud.state_dir / "jobs" / name
    assert report["argv"] == [
        "--checkpoint_dir", str(sandbox / "checkpoints"), "--epochs", "2",
        "--learning_rate", "0.0002", "--recipe", "lora",
    ]  # fmt: skip
    assert report["cwd"] == str(sandbox / "code")
    assert report["rows"] == 3
    assert report["hps"] == {
        "checkpoint_dir": str(sandbox / "checkpoints"),
        "epochs": 2,
        "learning_rate": 0.0002,
        "recipe": "lora",
    }
    assert report["channels"] == ["train"]
    assert (report["num_gpus"], report["hosts"]) == ("0", ["algo-1"])
    assert report["job_name"] == name
    assert report["hub_offline"] == "1"
    assert report["endpoint"] == cloud.endpoint_url
    assert report["setting"] == "from-environment"
    assert report["resumed"] == ["step-1.txt"]
    assert f"checkpoints/{name}/step-2.txt" in cloud.keys(f"checkpoints/{name}/")
    assert f"output/{name}/output/output.tar.gz" in cloud.keys(f"output/{name}/")

    statuses = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job["TrainingEndTime"] >= job["TrainingStartTime"]
    assert job["BillableTimeInSeconds"] >= 1
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics == {"train:loss": 0.5, "eval:loss": 0.625}
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "train:loss"

    log = (cloud.state_dir / "logs" / "TrainingJobs" / f"{name}.log").read_text()
    assert "train_loss=0.5" in log
    logs = cloud.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/algo-1-"
    )["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert any("eval_loss=0.625" in event["message"] for event in events)


def test_a_failing_entry_point_fails_the_job_with_its_last_error_line(cloud: Cloud) -> None:
    name = unique("train-fail")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_training_job(**training_request(cloud, name, fail_with='"learning rate 7"'))
    job = wait_done(cloud, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: ")
    assert 'ErrorMessage "ValueError: learning rate 7"' in job["FailureReason"]
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"
    assert "ModelArtifacts" not in job
    with pytest.raises(sagemaker.exceptions.ResourceInUse):
        sagemaker.create_training_job(**training_request(cloud, name))


def test_stop_training_job_kills_the_process_and_the_job_ends_stopped(cloud: Cloud) -> None:
    name = unique("train-stop")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_training_job(**training_request(cloud, name, sleep="60"))
    log = cloud.state_dir / "logs" / "TrainingJobs" / f"{name}.log"
    wait_for(lambda: log.is_file() and "running:" in log.read_text(), 30, "the job to start")
    pids = wait_for(running_pids, 10, "the training process")
    sagemaker.stop_training_job(TrainingJobName=name)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in {
        "Stopping",
        "Stopped",
    }
    job = wait_done(cloud, name, timeout_s=30)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"
    assert not any(pid_alive(pid) for pid in pids)


def test_several_instances_run_under_torchrun_and_gzip_output_is_a_tarball(cloud: Cloud) -> None:
    name = unique("train-ddp")
    request = training_request(cloud, name, sagemaker_torch_distributed_enabled="true")
    request["ResourceConfig"]["InstanceCount"] = 2
    request["OutputDataConfig"] = {"S3OutputPath": f"s3://{cloud.bucket}/output"}  # GZIP default
    cloud.client("sagemaker").create_training_job(**request)
    job = wait_done(cloud, name, timeout_s=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith(f"/{name}/output/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(cloud.get(f"output/{name}/output/model.tar.gz"))) as tar:
        names = sorted(tar.getnames())
        reports = [json.load(tar.extractfile(n)) for n in names if n.startswith("report-")]
    assert names == ["config.json", "report-0.json", "report-1.json"]
    assert {report["world_size"] for report in reports} == {"2"}


def test_a_failure_file_written_by_the_job_is_its_failure_reason(cloud: Cloud) -> None:
    name = unique("train-failure-file")
    request = training_request(cloud, name)
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = [
        "bash",
        "-c",
        "echo 'CUDA out of memory at step 3' > /opt/ml/output/failure; echo noise >&2; exit 1",
    ]
    cloud.client("sagemaker").create_training_job(**request)
    job = wait_done(cloud, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: CUDA out of memory at step 3"


def test_under_torchrun_the_failure_reason_is_the_workers_error(cloud: Cloud) -> None:
    # torchrun ends stderr with its own ChildFailedError and a summary framed by rows of "=".
    name = unique("train-ddp-fail")
    request = training_request(
        cloud,
        name,
        fail_with='"dataset column text missing"',
        sagemaker_torch_distributed_enabled="true",
    )
    request["ResourceConfig"]["InstanceCount"] = 2
    cloud.client("sagemaker").create_training_job(**request)
    job = wait_done(cloud, name, timeout_s=120)
    assert job["TrainingJobStatus"] == "Failed"
    assert 'ErrorMessage "ValueError: dataset column text missing"' in job["FailureReason"]


def test_processes_the_job_leaves_running_end_with_it(cloud: Cloud) -> None:
    name = unique("train-orphan")
    request = training_request(cloud, name)
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = [
        "bash",
        "-c",
        "sleep 30 & echo child=$!; exit 3",
    ]
    cloud.client("sagemaker").create_training_job(**request)
    job = wait_done(cloud, name, timeout_s=30)
    assert job["TrainingJobStatus"] == "Failed"
    assert "ExitCode 3" in job["FailureReason"]
    log = (cloud.state_dir / "logs" / "TrainingJobs" / f"{name}.log").read_text()
    child = int(re.search(r"child=(\d+)", log)[1])
    assert not pid_alive(child)  # orphaned to init, it would outlive the local cloud


def test_a_metric_regex_that_does_not_compile_is_refused_and_nothing_is_created(
    cloud: Cloud,
) -> None:
    name = unique("train-bad-regex")
    sagemaker = cloud.client("sagemaker")
    request = training_request(cloud, name)
    request["AlgorithmSpecification"]["MetricDefinitions"][0]["Regex"] = "train_loss=([0-9.]+"
    with pytest.raises(ClientError) as refused:
        sagemaker.create_training_job(**request)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "'train:loss'" in error["Message"]
    assert "missing )" in error["Message"]
    assert sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"] == []

    request["AlgorithmSpecification"]["MetricDefinitions"][0]["Regex"] = r"train_loss=([0-9.]+)"
    sagemaker.create_training_job(**request)  # the name is still free
    assert wait_done(cloud, name)["TrainingJobStatus"] == "Completed"
