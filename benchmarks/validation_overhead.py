"""What checking every request against botocore's model costs the local cloud, per request.

    .venv/bin/python benchmarks/validation_overhead.py                  # 1,200 requests each way
    .venv/bin/python benchmarks/validation_overhead.py --requests 3000 --json-out overhead.json

One moto server in this process with the local cloud's patches; a burst of the requests the
workflow makes most (SageMaker Describe* polls and Create*, S3 puts and gets, Step Functions
Describe*, CloudWatch Logs, IAM, SNS, Lambda listing) is timed with the check on and off
(``localcloud.validation.set_enabled``), each request made both ways back to back in the same
process. Prints the median time per request for each and the ratio; ``--json-out`` writes them.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud import validation  # noqa: E402
from localcloud.s3 import copy_object  # noqa: E402
from localcloud.stepfunctions import execution  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/benchmark"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi18.0.0-cu128"


def _server() -> tuple[ThreadedMotoServer, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://localhost:{port}"


def _workload(url: str) -> list[Callable[[], object]]:
    """One round: the calls, in the proportions a workflow run makes them."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    sagemaker, s3_client, sfn = client("sagemaker"), client("s3"), client("stepfunctions")
    logs, iam, sns, lam = client("logs"), client("iam"), client("sns"), client("lambda")
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    s3_client.create_bucket(Bucket=bucket)
    logs.create_log_group(logGroupName="/bench")
    topic = sns.create_topic(Name="bench")["TopicArn"]
    machine = sfn.create_state_machine(
        name="bench",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    body = b"x" * 4096

    def create_model() -> object:
        container = {"Image": IMAGE, "Environment": {"HF_MODEL_ID": "/opt/ml/model"}}
        name = f"m-{uuid.uuid4().hex[:12]}"
        return sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container
        )

    return [
        lambda: sagemaker.list_models(MaxResults=10),
        lambda: sagemaker.list_training_jobs(MaxResults=10),
        create_model,
        lambda: s3_client.put_object(Bucket=bucket, Key="runs/a/data/train.jsonl", Body=body),
        lambda: s3_client.get_object(Bucket=bucket, Key="runs/a/data/train.jsonl")["Body"].read(),
        lambda: s3_client.list_objects_v2(Bucket=bucket, Prefix="runs/"),
        lambda: sfn.describe_state_machine(stateMachineArn=machine),
        lambda: sfn.list_executions(stateMachineArn=machine),
        lambda: logs.describe_log_streams(logGroupName="/bench"),
        lambda: iam.list_roles(MaxItems=10),
        lambda: sns.get_topic_attributes(TopicArn=topic),
        lambda: lam.list_functions(MaxItems=10),
    ]


def _interleaved(calls: list[Callable[[], object]], requests: int) -> dict[str, list[float]]:
    """Seconds per call with the check off and on, each call made both ways back to back
    (the order alternating), so the load of a shared machine weighs on both alike."""
    timings: dict[str, list[float]] = {"off": [], "on": []}
    for index in range(requests):
        call = calls[index % len(calls)]
        for mode in ("off", "on") if index % 2 else ("on", "off"):
            validation.set_enabled(mode == "on")
            started = time.perf_counter()
            call()
            timings[mode].append(time.perf_counter() - started)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    validation.install()
    execution.install()
    copy_object.install()
    server, url = _server()
    try:
        calls = _workload(url)
        _interleaved(calls, len(calls) * 3)  # warm: models loaded, patterns compiled, routes
        timings = _interleaved(calls, args.requests)
    finally:
        validation.set_enabled(True)
        server.stop()

    on, off = statistics.median(timings["on"]), statistics.median(timings["off"])
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "requests": args.requests,
        "ms_per_request_off": round(off * 1000, 3),
        "ms_per_request_on": round(on * 1000, 3),
        "overhead_ms_per_request": round((on - off) * 1000, 3),
        "ratio_on_to_off": round(on / off, 3),
    }
    print("| check | ms per request (median) |\n|---|---|")
    print(f"| off | {result['ms_per_request_off']} |\n| on | {result['ms_per_request_on']} |")
    print(f"ratio on/off: {result['ratio_on_to_off']}, {result['overhead_ms_per_request']} ms")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
