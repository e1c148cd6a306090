"""IAM enforced on a running local cloud: a role session is allowed what its policies allow.

Each test makes the same request twice, once with a role that lacks the permission (refused
with AWS's error shape) and once with it (answered), so each fails without enforcement.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from localcloud.server import LocalCloud
from tests.localcloud.helpers import run_execution

ACCOUNT = "123456789012"
SAGEMAKER = "sagemaker.amazonaws.com"
STATES = "states.amazonaws.com"
LIST_TAGS = "sagemaker:ListTags"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_role(aws: Callable[[str], BaseClient], service: str, statements: list[dict]) -> str:
    """A role ``service`` may assume, with one inline policy holding ``statements``."""
    iam = aws("iam")
    name = unique("role")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    return arn


def as_role(cloud: LocalCloud, aws: Callable[[str], BaseClient], role_arn: str, service: str):
    """A client factory presenting a session of ``role_arn`` (STS AssumeRole)."""
    keys = aws("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]

    def client(name: str) -> Any:
        return boto3.client(
            name,
            endpoint_url=cloud.endpoint_url,
            region_name=cloud.region,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )

    return client


@pytest.fixture(scope="module")
def bucket(aws: Callable[[str], BaseClient]) -> str:
    name = unique("iam-bucket")
    aws("s3").create_bucket(Bucket=name)
    aws("s3").put_object(Bucket=name, Key="runs/1/model.tar.gz", Body=b"m")
    return name


def test_s3_denies_what_no_policy_allows_with_aws_shape(
    local_cloud: LocalCloud, aws: Callable[[str], BaseClient], bucket: str
) -> None:
    role = make_role(
        aws,
        SAGEMAKER,
        [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/runs/*",
            }
        ],
    )
    s3 = as_role(local_cloud, aws, role, SAGEMAKER)("s3")

    assert s3.get_object(Bucket=bucket, Key="runs/1/model.tar.gz")["Body"].read() == b"m"
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="runs/1/other", Body=b"x")
    error = denied.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role.split('/')[-1]}/test is not authorized "
        f"to perform: s3:PutObject on resource: arn:aws:s3:::{bucket}/runs/1/other because no "
        "identity-based policy allows the s3:PutObject action"
    )
    aws("s3").put_object(Bucket=bucket, Key="runs/1/other", Body=b"x")  # the deployer's keys


def test_json_service_answers_access_denied_exception(
    local_cloud: LocalCloud, aws: Callable[[str], BaseClient]
) -> None:
    bare = as_role(local_cloud, aws, make_role(aws, SAGEMAKER, []), SAGEMAKER)("sagemaker")
    allowed = make_role(
        aws,
        SAGEMAKER,
        [{"Effect": "Allow", "Action": "sagemaker:DescribeTrainingJob", "Resource": "*"}],
    )
    with pytest.raises(ClientError) as denied:
        bare.describe_training_job(TrainingJobName="Missing-Job")
    error = denied.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert (
        f"sagemaker:DescribeTrainingJob on resource: arn:aws:sagemaker:us-east-1:{ACCOUNT}:"
        "training-job/missing-job because no identity-based policy allows"
    ) in error["Error"]["Message"]
    with pytest.raises(ClientError) as missing:  # allowed: SageMaker itself answers now
        as_role(local_cloud, aws, allowed, SAGEMAKER)("sagemaker").describe_training_job(
            TrainingJobName="Missing-Job"
        )
    assert missing.value.response["Error"]["Code"] != "AccessDeniedException"


def test_bucket_policy_keeps_models_for_the_workflow_role(
    local_cloud: LocalCloud, aws: Callable[[str], BaseClient], bucket: str
) -> None:
    write = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]
    job_role, workflow_role = make_role(aws, SAGEMAKER, write), make_role(aws, STATES, write)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {  # as stacks/storage.py writes it for the artifacts bucket
                "Sid": "KeptModelsAreWrittenOnceByTheWorkflow",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/models/*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": workflow_role}},
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    aws("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        job = as_role(local_cloud, aws, job_role, SAGEMAKER)("s3")
        with pytest.raises(ClientError) as denied:
            job.put_object(Bucket=bucket, Key="models/m.tar.gz", Body=b"m")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert "with an explicit deny in a resource-based policy" in str(denied.value)
        job.put_object(Bucket=bucket, Key="runs/2/m.tar.gz", Body=b"m")
        workflow = as_role(local_cloud, aws, workflow_role, STATES)("s3")
        workflow.put_object(Bucket=bucket, Key="models/m.tar.gz", Body=b"m")
    finally:
        aws("s3").delete_bucket_policy(Bucket=bucket)


def _machine(aws: Callable[[str], BaseClient], role: str, passed_role: str) -> str:
    definition = {
        "StartAt": "Model",
        "States": {
            "Model": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$.name",
                    "ExecutionRoleArn": passed_role,
                    "PrimaryContainer": {"Image": "image", "ModelDataUrl": "s3://b/k.tar.gz"},
                },
                "End": True,
            }
        },
    }
    return aws("stepfunctions").create_state_machine(
        name=unique("iam-machine"), definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def test_state_machine_must_be_allowed_to_pass_the_model_role(
    aws: Callable[[str], BaseClient],
) -> None:
    model_role = make_role(aws, SAGEMAKER, [])
    create = {"Effect": "Allow", "Action": ["sagemaker:CreateModel", LIST_TAGS], "Resource": "*"}
    passing = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": model_role,
        "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    }
    sfn = aws("stepfunctions")
    refused = run_execution(
        sfn, _machine(aws, make_role(aws, STATES, [create]), model_role), {"name": unique("m")}
    )
    assert refused["status"] == "FAILED"
    assert refused["error"].startswith("SageMaker.")
    assert "is not authorized to perform: iam:PassRole" in refused["cause"]
    allowed = run_execution(
        sfn,
        _machine(aws, make_role(aws, STATES, [create, passing]), model_role),
        {"name": unique("m")},
    )
    assert allowed["status"] == "SUCCEEDED", allowed.get("cause")


def _failed_state(sfn: BaseClient, execution_arn: str) -> str:
    """The state whose task failed the execution."""
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    by_id = {event["id"]: event for event in events}
    (failed,) = [event for event in events if event["type"] == "TaskFailed"]
    entered = by_id[failed["previousEventId"]]
    while "stateEnteredEventDetails" not in entered:
        entered = by_id[entered["previousEventId"]]
    return entered["stateEnteredEventDetails"]["name"]


def test_the_model_integration_needs_list_tags_as_aws_documents(
    aws: Callable[[str], BaseClient],
) -> None:
    """Step Functions lists the tags of what it creates (its documented policies grant
    sagemaker:ListTags); the local integration makes no such call but checks the grant."""
    model_role = make_role(aws, SAGEMAKER, [])
    create = {"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": "*"}
    passing = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": model_role,
        "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    }
    sfn = aws("stepfunctions")
    name = unique("m")
    refused = run_execution(
        sfn, _machine(aws, make_role(aws, STATES, [create, passing]), model_role), {"name": name}
    )
    assert refused["status"] == "FAILED"
    assert _failed_state(sfn, refused["executionArn"]) == "Model"
    assert refused["error"] == "SageMaker.AmazonSageMakerException"
    assert (
        f"is not authorized to perform: sagemaker:ListTags on resource: "
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name}" in refused["cause"]
    )
    assert "Error Code: AccessDeniedException" in refused["cause"]
    with pytest.raises(ClientError):  # refused before anything was created
        aws("sagemaker").describe_model(ModelName=name)
    # Scoped to the model it creates, as the project's stacks grant it.
    listing = {
        "Effect": "Allow",
        "Action": LIST_TAGS,
        "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/*",
    }
    allowed = run_execution(
        sfn,
        _machine(aws, make_role(aws, STATES, [create, passing, listing]), model_role),
        {"name": unique("m")},
    )
    assert allowed["status"] == "SUCCEEDED", allowed.get("cause")


def _sync_job_machine(aws: Callable[[str], BaseClient], role: str, job_role: str) -> str:
    definition = {
        "StartAt": "Run the job",
        "States": {
            "Run the job": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
                "Parameters": {
                    "ProcessingJobName.$": "$.name",
                    "RoleArn": job_role,
                    "AppSpecification": {
                        "ImageUri": "image",
                        "ContainerEntrypoint": ["python3", "-c", "pass"],
                    },
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.m5.xlarge",
                            "VolumeSizeInGB": 5,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    return aws("stepfunctions").create_state_machine(
        name=unique("iam-sync"), definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def test_a_sync_job_needs_the_managed_rule_grants_as_aws_documents(
    aws: Callable[[str], BaseClient],
) -> None:
    """.sync keeps the EventBridge rule StepFunctionsGetEventsForSageMakerProcessingJobsRule:
    a role that may not is refused at CreateStateMachine, and a task whose role lost the grant
    since fails, both with Step Functions' managed-rule message."""
    job_role = make_role(aws, SAGEMAKER, [])
    jobs = {
        "Effect": "Allow",
        "Action": [
            "sagemaker:CreateProcessingJob",
            "sagemaker:DescribeProcessingJob",
            "sagemaker:StopProcessingJob",
            LIST_TAGS,
        ],
        "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/*",
    }
    passing = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": job_role,
        "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    }
    rule = {
        "Effect": "Allow",
        "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        "Resource": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/"
        "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    }
    sfn = aws("stepfunctions")
    without = make_role(aws, STATES, [jobs, passing])
    with pytest.raises(ClientError) as refused:
        _sync_job_machine(aws, without, job_role)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == (
        f"'{without}' is not authorized to create managed-rule."
    )

    role = make_role(aws, STATES, [jobs, passing, rule])
    machine = _sync_job_machine(aws, role, job_role)
    allowed = run_execution(sfn, machine, {"name": unique("j")}, timeout_s=120)
    assert allowed["status"] == "SUCCEEDED", allowed.get("cause")

    document = {"Version": "2012-10-17", "Statement": [jobs, passing]}
    aws("iam").put_role_policy(
        RoleName=role.split("/")[-1], PolicyName="p", PolicyDocument=json.dumps(document)
    )
    failed = run_execution(sfn, machine, {"name": unique("j")})
    assert failed["status"] == "FAILED"
    assert _failed_state(sfn, failed["executionArn"]) == "Run the job"
    assert failed["error"] == "States.Runtime"
    assert f"'{role}' is not authorized to create managed-rule." in failed["cause"]
    assert "Error Code: AccessDeniedException" in failed["cause"]


def _processing_job(aws: Callable[[str], BaseClient], bucket: str, role: str, key_arn: str) -> dict:
    name = unique("iam-job")
    program = (
        "import boto3, pathlib; arn = boto3.client('sts').get_caller_identity()['Arn']; "
        "pathlib.Path('/opt/ml/processing/output/who.txt').write_text(arn)"
    )
    sagemaker = aws("sagemaker")
    sagemaker.create_processing_job(
        ProcessingJobName=name,
        RoleArn=role,
        AppSpecification={"ImageUri": "image", "ContainerEntrypoint": ["python3", "-c", program]},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 5,
            }
        },
        ProcessingOutputConfig={
            "KmsKeyId": key_arn,
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/jobs/{name}",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
        },
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = sagemaker.describe_processing_job(ProcessingJobName=name)
        if job["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"{name} did not end")


def test_job_role_needs_kms_encrypt_for_encrypted_outputs_and_runs_as_itself(
    aws: Callable[[str], BaseClient], bucket: str
) -> None:
    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]  # default policy: the account
    put = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/jobs/*"}
    encrypt = {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn}

    refused = _processing_job(aws, bucket, make_role(aws, SAGEMAKER, [put]), key_arn)
    assert refused["ProcessingJobStatus"] == "Failed"
    assert "kms:Encrypt" in refused["FailureReason"]

    role = make_role(aws, SAGEMAKER, [put, encrypt])
    done = _processing_job(aws, bucket, role, key_arn)
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    name = done["ProcessingJobName"]
    who = aws("s3").get_object(Bucket=bucket, Key=f"jobs/{name}/who.txt")["Body"].read().decode()
    assert who == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.split('/')[-1]}/SageMaker"


def test_the_champion_look_up_is_allowed_on_its_group_and_versions_only(
    local_cloud: LocalCloud, aws: Callable[[str], BaseClient]
) -> None:
    """ListModelPackages is checked on the group, DescribeModelPackage on the version's ARN:
    the state machine role's FindChampion statement (stacks/workflow/state_machine_role.py)."""
    group, other = unique("champions"), unique("others")
    for name in (group, other):
        aws("sagemaker").create_model_package_group(ModelPackageGroupName=name)
    base = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
    finder = make_role(
        aws,
        STATES,
        [
            {
                "Effect": "Allow",
                "Action": ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                "Resource": [
                    f"{base}:model-package-group/{group}",
                    f"{base}:model-package/{group}/*",
                ],
            }
        ],
    )
    sagemaker = as_role(local_cloud, aws, finder, STATES)("sagemaker")
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved", MaxResults=1
    )
    assert listed["ModelPackageSummaryList"] == []
    with pytest.raises(ClientError) as denied:
        sagemaker.list_model_packages(ModelPackageGroupName=other)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"model-package-group/{other}" in denied.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:  # allowed: SageMaker itself answers
        sagemaker.describe_model_package(ModelPackageName=f"{base}:model-package/{group}/1")
    assert missing.value.response["Error"]["Code"] != "AccessDeniedException"
    with pytest.raises(ClientError) as denied:
        sagemaker.describe_model_package(ModelPackageName=f"{base}:model-package/{other}/1")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
