"""A job in a VPC reaches only what the VPC provides: its endpoints, or a gateway to the internet.

The job's code calls STS and S3 with its role's keys and exits with a bit per outcome, so the
job's FailureReason (``ExitCode N``) says what it reached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from botocore.client import BaseClient

from tests.localcloud.iam.test_enforced import SAGEMAKER, make_role, unique

REGION = "us-east-1"
# bit 1: STS unreachable; 2: S3 unreachable; 4: S3 AccessDenied; 8: another S3 error
PROGRAM = """
import sys, boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=5)
code = 0
try:
    boto3.client("sts", config=config).get_caller_identity()
except BotoCoreError as error:
    print("sts:", error)
    code |= 1
try:
    boto3.client("s3", config=config).list_buckets()
except BotoCoreError as error:
    print("s3:", error)
    code |= 2
except ClientError as error:
    print("s3:", error)
    code |= 4 if error.response["Error"]["Code"] == "AccessDenied" else 8
sys.exit(code)
"""
RUN_LINES = "import sys; exec(chr(10).join(sys.argv[1:]))"
ONLY_GET_OBJECT = {
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]
}


def _exit_code(aws: Callable[[str], BaseClient], role: str, subnets: list[str]) -> int:
    """Runs PROGRAM as a processing job in ``subnets``; its exit code."""
    name = unique("vpc-job")
    sagemaker = aws("sagemaker")
    sagemaker.create_processing_job(
        ProcessingJobName=name,
        RoleArn=role,
        AppSpecification={
            "ImageUri": "image",
            # One line per item: an entrypoint item holds at most 256 characters.
            "ContainerEntrypoint": ["python3", "-c", RUN_LINES, *PROGRAM.strip().splitlines()],
        },
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 5,
            }
        },
        NetworkConfig={"VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": subnets}},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = sagemaker.describe_processing_job(ProcessingJobName=name)
        if job["ProcessingJobStatus"] == "Completed":
            return 0
        if job["ProcessingJobStatus"] in ("Failed", "Stopped"):
            reason = job.get("FailureReason", "")
            assert "ExitCode " in reason, reason
            return int(reason.split("ExitCode ")[1].split()[0])
        time.sleep(0.5)
    raise AssertionError(f"{name} did not end")


@pytest.fixture(scope="module")
def network(aws: Callable[[str], BaseClient]) -> dict[str, str]:
    """A VPC with one subnet on its own route table, which routes nowhere."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return {"vpc": vpc, "subnet": subnet, "table": table}


@pytest.fixture(scope="module")
def role(aws: Callable[[str], BaseClient]) -> str:
    return make_role(
        aws, SAGEMAKER, [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]
    )


def test_a_job_in_a_vpc_reaches_only_the_services_it_has_endpoints_for(
    aws: Callable[[str], BaseClient], network: dict[str, str], role: str
) -> None:
    ec2 = aws("ec2")
    assert _exit_code(aws, role, [network["subnet"]]) == 1 | 2  # nothing reachable
    ec2.create_vpc_endpoint(
        VpcId=network["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.sts",
        VpcEndpointType="Interface",
        SubnetIds=[network["subnet"]],
    )
    s3 = ec2.create_vpc_endpoint(
        VpcId=network["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[network["table"]],
        PolicyDocument=json.dumps(ONLY_GET_OBJECT),
    )["VpcEndpoint"]["VpcEndpointId"]
    # STS through its endpoint; S3's endpoint policy does not allow s3:ListAllMyBuckets.
    assert _exit_code(aws, role, [network["subnet"]]) == 4
    ec2.delete_vpc_endpoints(VpcEndpointIds=[s3])
    ec2.create_vpc_endpoint(
        VpcId=network["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[network["table"]],
    )
    assert _exit_code(aws, role, [network["subnet"]]) == 0


def test_a_job_in_subnets_routed_to_an_internet_gateway_reaches_every_service(
    aws: Callable[[str], BaseClient], role: str
) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    assert _exit_code(aws, role, [subnet]) == 1 | 2
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    assert _exit_code(aws, role, [subnet]) == 0


def test_a_job_whose_subnets_do_not_exist_reaches_nothing(
    aws: Callable[[str], BaseClient], role: str
) -> None:
    """SageMaker would refuse such a job; one that runs here has no network to be confined to."""
    assert _exit_code(aws, role, ["subnet-0123456789abcdef0"]) == 1 | 2
