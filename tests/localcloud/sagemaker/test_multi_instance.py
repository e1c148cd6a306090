"""A job with several instances runs as several hosts, each with its own /opt/ml, as on AWS."""

from __future__ import annotations

import json

import pytest

from cli.sample_models import tiny_model_dir
from localcloud.sagemaker import isolation
from stacks.workflow.code_asset import SHARED_PACKAGES, tarball_bytes
from tests.training.helpers import TRAINING_CODE, sql_records

from .conftest import Cloud, unique
from .script_jobs import channel, log_of, run_job, script_job

needs_namespaces = pytest.mark.skipif(
    isolation.support().problem is not None,
    reason=f"separate hosts need Linux namespaces: {isolation.support().problem}",
)

# Each rank adds its rank + 1 over gloo, then reports what its host saw; only rank 0 saves.
RENDEZVOUS_PY = """
import json, os, pathlib, socket, urllib.parse
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
total = torch.tensor([dist.get_rank() + 1.0])
dist.all_reduce(total)
host = os.environ["SM_CURRENT_HOST"]
config_dir = pathlib.Path(os.environ["SM_INPUT_CONFIG_DIR"])
resources = json.loads((config_dir / "resourceconfig.json").read_text())
cloud = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
try:
    socket.create_connection((cloud.hostname, cloud.port), timeout=5).close()
    reached_cloud = True
except OSError:
    reached_cloud = False
report = {
    "reached_cloud": reached_cloud,
    "rank": dist.get_rank(),
    "world_size": dist.get_world_size(),
    "sum": total.item(),
    "hostname": socket.gethostname(),
    "hosts": json.loads(os.environ["SM_HOSTS"]),
    "config": [resources["current_host"], resources["hosts"]],
    "master_addr": os.environ["MASTER_ADDR"],
    "num_gpus": os.environ["SM_NUM_GPUS"],
    "is_master": json.loads(os.environ["SM_TRAINING_ENV"])["is_master"],
    "model_dir": os.environ["SM_MODEL_DIR"],
    "full": sorted(os.listdir(os.environ["SM_CHANNEL_FULL"])),
    "shard": sorted(os.listdir(os.environ["SM_CHANNEL_SHARD"])),
}
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
(model / f"report-{host}.json").write_text(json.dumps(report))
if dist.get_rank() == 0:
    (model / "weights.txt").write_text("saved by rank 0")
dist.barrier()
dist.destroy_process_group()
"""


def _two_hosts(cloud: Cloud, name: str, *, isolated: bool) -> dict:
    for key in ("a", "b"):
        cloud.put(f"data/{name}/full/{key}.jsonl", "{}\n")
        cloud.put(f"data/{name}/shard/{key}.jsonl", "{}\n")
    request = script_job(
        cloud,
        name,
        {"train.py": RENDEZVOUS_PY},
        instances=2,
        isolated=isolated,
        hyperparameters={"sagemaker_torch_distributed_enabled": "true"},
        channels=[
            channel("full", f"s3://{cloud.bucket}/data/{name}/full/"),
            channel("shard", f"s3://{cloud.bucket}/data/{name}/shard/", "ShardedByS3Key"),
        ],
    )
    return run_job(cloud, request, timeout_s=240)


def _reports(cloud: Cloud, name: str) -> dict[str, dict]:
    return {
        host: json.loads(cloud.get(f"output/{name}/output/model/report-{host}.json"))
        for host in ("algo-1", "algo-2")
    }


@needs_namespaces
def test_two_instances_are_two_hosts_that_rendezvous_under_torchrun(cloud: Cloud) -> None:
    name = unique("multi")
    job = _two_hosts(cloud, name, isolated=False)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    reports = _reports(cloud, name)
    for index, host in enumerate(("algo-1", "algo-2")):
        report = reports[host]
        assert (report["rank"], report["world_size"], report["sum"]) == (index, 2, 3.0)
        assert report["hostname"] == host
        assert report["hosts"] == ["algo-1", "algo-2"]
        assert report["config"] == [host, ["algo-1", "algo-2"]]
        assert (report["master_addr"], report["num_gpus"]) == ("algo-1", "0")
        assert report["is_master"] == (host == "algo-1")
        assert report["model_dir"] == str(cloud.state_dir / "jobs" / name / host / "model")
        assert report["full"] == ["a.jsonl", "b.jsonl"]  # FullyReplicated: all of it on each
        assert report["reached_cloud"]
    assert [reports[host]["shard"] for host in ("algo-1", "algo-2")] == [["a.jsonl"], ["b.jsonl"]]
    # Every host's /opt/ml/model is uploaded, merged: the leader's weights, each host's report.
    assert cloud.keys(f"output/{name}/output/model/") == [
        f"output/{name}/output/model/{file}"
        for file in ("report-algo-1.json", "report-algo-2.json", "weights.txt")
    ]
    assert "--nnodes 2 --nproc_per_node 1 --master_addr algo-1" in log_of(cloud, name)
    assert "--node_rank 1" in log_of(cloud, name, "algo-2")
    logs = cloud.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert sorted(s["logStreamName"].rsplit("-", 1)[0] for s in streams) == [
        f"{name}/algo-1",
        f"{name}/algo-2",
    ]


@needs_namespaces
def test_the_hosts_of_an_isolated_job_reach_each_other_and_nothing_else(cloud: Cloud) -> None:
    name = unique("multi-iso")
    job = _two_hosts(cloud, name, isolated=True)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    reports = _reports(cloud, name).values()
    assert [(report["sum"], report["reached_cloud"]) for report in reports] == [(3.0, False)] * 2
    assert "(network isolated)" in log_of(cloud, name, "algo-2")


@needs_namespaces
@pytest.mark.slow
def test_train_py_trains_the_tiny_model_across_two_hosts_and_the_leader_saves_it(
    cloud: Cloud,
) -> None:
    name = unique("multi-train")
    # Packed as the code asset is: training_code/ with the shared contracts package.
    cloud.put(f"code/{name}/sourcedir.tar.gz", tarball_bytes(TRAINING_CODE, SHARED_PACKAGES))
    for split, records in (("train", sql_records(32)), ("validation", sql_records(8, 2000))):
        body = "".join(json.dumps(record) + "\n" for record in records)
        cloud.put(f"data/{name}/{split}/{split}.jsonl", body)
    for path in sorted(tiny_model_dir().iterdir()):
        cloud.put(f"models/{name}/{path.name}", path.read_bytes())
    request = script_job(
        cloud,
        name,
        None,
        instances=2,
        hyperparameters={
            "sagemaker_torch_distributed_enabled": "true",
            "recipe": '"lora"',
            "checkpoint_dir": '"/opt/ml/checkpoints"',
            "max_steps": "2",
            "save_steps": "2",
            "logging_steps": "1",
            "max_seq_length": "512",
        },
        channels=[
            channel(split, f"s3://{cloud.bucket}/{prefix}/{name}/{split}/")
            for prefix, split in (("data", "train"), ("data", "validation"))
        ]
        + [channel("model", f"s3://{cloud.bucket}/models/{name}/")],
        environment={"OMP_NUM_THREADS": "1"},
    )
    request["CheckpointConfig"] = {"S3Uri": f"s3://{cloud.bucket}/checkpoints/{name}"}
    job = run_job(cloud, request, timeout_s=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = json.loads(cloud.get(f"output/{name}/output/model/training_metrics.json"))
    assert (metrics["world_size"], metrics["global_step"]) == (2, 2)
    assert f"output/{name}/output/model/model.safetensors" in cloud.keys(f"output/{name}/")
    assert not any((cloud.state_dir / "jobs" / name / "algo-2" / "model").iterdir())
    # Each host's checkpoint folder goes to the one S3 location: both ranks' RNG states.
    keys = cloud.keys(f"checkpoints/{name}/checkpoint-2/")
    assert {key.rsplit("/", 1)[1] for key in keys} >= {"rng_state_0.pth", "rng_state_1.pth"}


def test_where_namespaces_are_unavailable_the_instances_are_processes_of_one_host(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "support", lambda: isolation.Support("probe refused", False))
    name = unique("multi-fallback")
    job = _two_hosts(cloud, name, isolated=False)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    report = json.loads(cloud.get(f"output/{name}/output/model/report-algo-1.json"))
    assert (report["world_size"], report["sum"], report["hosts"]) == (2, 3.0, ["algo-1"])
    log = log_of(cloud, name)
    assert (
        "cannot run 2 instances as separate hosts here (probe refused); they run as 2 torchrun "
        "processes of one host, algo-1"
    ) in log
    assert "--nnodes 1 --nproc_per_node 2" in log
