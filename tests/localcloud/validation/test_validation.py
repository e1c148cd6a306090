"""Requests AWS would refuse are refused by the local cloud, in AWS's error shape.

Each test sends a request that breaks one constraint of botocore's model (through the real
server, so the check runs where every request passes) and then the same request made valid.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import boto3
import botocore.session
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.server import LocalCloud
from localcloud.validation.checks import CHECKED
from localcloud.validation.patterns import compiled
from tests.localcloud.helpers import run_execution

ROLE = "arn:aws:iam::123456789012:role/local-sagemaker"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:latest"
# Patterns of each service's model that Python's re cannot compile (Java-only syntax such as
# \p{L} or surrogate ranges): not checked. Pinned so a change in the gap is seen.
UNCHECKED_PATTERNS = {
    "cloudformation": 0,
    "cloudwatch": 1,
    "ecr": 0,
    "events": 1,
    "iam": 4,
    "kms": 0,
    "lambda": 1,
    "logs": 4,
    "s3": 0,
    "sagemaker": 11,
    "sagemaker-runtime": 2,
    "sns": 0,
    "ssm": 4,
    "stepfunctions": 1,
    "sts": 2,
}


@pytest.fixture(scope="module")
def raw(local_cloud: LocalCloud) -> Callable[[str], BaseClient]:
    """A client that sends what it is given: boto3's own checks (types, minimums) are off."""

    def client(service: str) -> BaseClient:
        return boto3.client(
            service,
            endpoint_url=local_cloud.endpoint_url,
            region_name=local_cloud.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        )

    return client


def refused(call: Callable[[], object]) -> dict:
    """The error AWS's shape carries, after checking the HTTP status is 400."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return response["Error"]


def name(length: int) -> str:
    unique = uuid.uuid4().hex
    return (unique * (length // len(unique) + 1))[:length]


# --- JSON protocol (SageMaker): ValidationException with Coral's message --------------------


def test_an_entrypoint_item_over_256_characters_is_refused_naming_member_and_constraint(
    aws: Callable[[str], BaseClient],
) -> None:
    def create(script: str) -> dict:
        return aws("sagemaker").create_processing_job(
            ProcessingJobName=name(20),
            RoleArn=ROLE,
            AppSpecification={"ImageUri": IMAGE, "ContainerEntrypoint": ["bash", "-c", script]},
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
        )

    script = "true #" + "x" * 251
    error = refused(lambda: create(script))

    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '[bash, -c, {script}]' at "
        "'appSpecification.containerEntrypoint' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must have length less than or equal to 256, Member must "
        "have length greater than or equal to 0, Member must satisfy regular expression "
        "pattern: .*]"
    )
    assert create(script[:256])["ProcessingJobArn"]


@pytest.mark.parametrize(
    ("create", "describe", "member"),
    [
        ("create_training_job", "describe_training_job", "TrainingJobName"),
        ("create_processing_job", "describe_processing_job", "ProcessingJobName"),
        ("create_model", "describe_model", "ModelName"),
        ("create_endpoint_config", "describe_endpoint_config", "EndpointConfigName"),
        ("create_endpoint", "describe_endpoint", "EndpointName"),
    ],
)
def test_sagemaker_names_are_at_most_63_characters_of_the_model_pattern(
    raw: Callable[[str], BaseClient], create: str, describe: str, member: str
) -> None:
    sagemaker = raw("sagemaker")
    camel = member[0].lower() + member[1:]

    too_long = refused(lambda: getattr(sagemaker, create)(**{member: name(64)}))
    underscore = refused(lambda: getattr(sagemaker, describe)(**{member: "run_1"}))
    valid = refused(lambda: getattr(sagemaker, describe)(**{member: name(63)}))

    assert too_long["Code"] == "ValidationException"
    assert (
        f"at '{camel}' failed to satisfy constraint: Member must have length less than or "
        "equal to 63" in too_long["Message"]
    )
    assert (
        f"Value 'run_1' at '{camel}' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern:" in underscore["Message"]
    )
    assert "failed to satisfy constraint" not in valid["Message"]  # moto's "not found"


def test_a_missing_required_member_is_null_at_its_path(raw: Callable[[str], BaseClient]) -> None:
    error = refused(lambda: raw("sagemaker").create_model(PrimaryContainer={"Image": IMAGE}))
    assert error["Code"] == "ValidationException"
    assert (
        "Value null at 'modelName' failed to satisfy constraint: Member must not be null"
        in (error["Message"])
    )


def test_a_number_where_the_model_has_a_string_is_a_serialization_exception(
    raw: Callable[[str], BaseClient],
) -> None:
    def create(value: object) -> dict:
        container = {"Image": IMAGE, "Environment": {"EPOCHS": value}}
        return raw("sagemaker").create_model(ModelName=name(20), PrimaryContainer=container)

    error = refused(lambda: create(3))

    assert error["Code"] == "SerializationException"
    assert "PrimaryContainer.Environment.EPOCHS, value: 3, type: int" in error["Message"]
    assert create("3")["ModelArn"]


# --- query protocol (IAM, SNS): ValidationError in the query error envelope ------------------


def test_a_query_request_is_refused_with_validation_error(aws: Callable[[str], BaseClient]) -> None:
    def create(length: int) -> dict:
        return aws("iam").create_role(RoleName=name(length), AssumeRolePolicyDocument="{}")

    error = refused(lambda: create(65))

    assert (error["Code"], error["Type"]) == ("ValidationError", "Sender")
    assert (
        "at 'roleName' failed to satisfy constraint: Member must have length less than or "
        "equal to 64" in error["Message"]
    )
    assert create(64)["Role"]["Arn"]


def test_a_list_of_structures_is_read_from_the_form_and_named_by_position(
    aws: Callable[[str], BaseClient],
) -> None:
    def create(key_length: int) -> dict:
        tags = [{"Key": "project", "Value": "a"}, {"Key": "k" * key_length, "Value": "b"}]
        return aws("sns").create_topic(Name=name(12), Tags=tags)

    error = refused(lambda: create(129))

    assert error["Code"] == "ValidationError"
    assert (
        "at 'tags.2.member.key' failed to satisfy constraint: Member must have length less "
        "than or equal to 128" in error["Message"]
    )
    assert create(128)["TopicArn"]


# --- REST-JSON (Lambda), the JSON services' own codes (Logs, CloudWatch) ---------------------


def test_a_rest_json_query_string_member_is_checked(aws: Callable[[str], BaseClient]) -> None:
    error = refused(lambda: aws("lambda").list_functions(MaxItems=10001))
    assert error["Code"] == "ValidationException"
    assert (
        "Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value "
        "less than or equal to 10000" in error["Message"]
    )
    assert "Functions" in aws("lambda").list_functions(MaxItems=10000)


def test_cloudwatch_logs_answers_invalid_parameter_exception(
    aws: Callable[[str], BaseClient],
) -> None:
    error = refused(lambda: aws("logs").create_log_group(logGroupName="bad name!"))
    assert error["Code"] == "InvalidParameterException"
    assert (
        "Value 'bad name!' at 'logGroupName' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern" in error["Message"]
    )
    aws("logs").create_log_group(logGroupName=f"/good/{name(8)}")


def test_ecr_words_a_refused_parameter_its_own_way(aws: Callable[[str], BaseClient]) -> None:
    error = refused(lambda: aws("ecr").create_repository(repositoryName="Jobs Image"))
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"].startswith(
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must "
        "satisfy regular expression pattern: "
    )
    aws("ecr").create_repository(repositoryName=f"jobs-image-{name(8)}")


def test_cloudwatch_keeps_its_query_error_code_over_json(aws: Callable[[str], BaseClient]) -> None:
    def put(namespace: str) -> dict:
        data = [{"MetricName": "Loss", "Value": 1.0}]
        return aws("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)

    error = refused(lambda: put("n" * 256))
    assert error["Code"] == "ValidationError"
    assert (
        "at 'namespace' failed to satisfy constraint: Member must have length less than or "
        "equal to 255" in error["Message"]
    )
    put("n" * 255)


# --- patterns -------------------------------------------------------------------------------


def test_patterns_python_cannot_compile_are_counted_per_service() -> None:
    session = botocore.session.get_session()
    unchecked = {}
    for service in sorted(CHECKED):
        model = session.get_service_model(service)
        patterns = {
            model.shape_for(shape).metadata.get("pattern") for shape in model.shape_names
        } - {None}
        unchecked[service] = sum(compiled(pattern) is None for pattern in patterns)
    assert unchecked == UNCHECKED_PATTERNS


# --- state machines: static Parameters at creation, requests at run time --------------------


def processing_definition(entrypoint_item: str, extra: dict | None = None) -> dict:
    parameters = {
        "ProcessingJobName.$": "$.name",
        "RoleArn": ROLE,
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["bash", "-c", entrypoint_item],
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 1,
            }
        },
        **(extra or {}),
    }
    return {
        "StartAt": "Prepare data",
        "States": {
            "Prepare data": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
                "Parameters": parameters,
                "End": True,
            }
        },
    }


def create_machine(aws: Callable[[str], BaseClient], definition: dict) -> str:
    return aws("stepfunctions").create_state_machine(
        name=name(16),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/states",
    )["stateMachineArn"]


def test_a_definition_whose_task_parameters_break_the_api_is_invalid(
    aws: Callable[[str], BaseClient],
) -> None:
    error = refused(lambda: create_machine(aws, processing_definition("x" * 257)))

    assert error["Code"] == "InvalidDefinition"
    assert error["Message"].startswith(
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED"
    )
    assert (
        "at 'AppSpecification.ContainerEntrypoint' failed to satisfy constraint: Member "
        "must satisfy constraint: [Member must have length less than or equal to 256"
        in (error["Message"])
    )
    assert "at /States/Prepare data/Parameters" in error["Message"]
    assert create_machine(aws, processing_definition("x" * 256))


def test_a_definition_with_a_field_the_api_does_not_have_is_invalid(
    aws: Callable[[str], BaseClient],
) -> None:
    extra = {"Environment": {"A": "b"}, "ModelDataUrl": "s3://misplaced/model.tar.gz"}
    error = refused(lambda: create_machine(aws, processing_definition("true", extra)))

    assert error["Code"] == "InvalidDefinition"
    assert (
        'The field "ModelDataUrl" is not supported by Step Functions at /States/Prepare '
        "data/Parameters" in error["Message"]
    )
    assert create_machine(aws, processing_definition("true", {"Environment": {"A": "b"}}))


def test_a_definition_checks_aws_sdk_tasks_and_takes_paths_for_required_members(
    aws: Callable[[str], BaseClient],
) -> None:
    def definition(parameters: dict) -> dict:
        task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True}
        return {"StartAt": "Read", "States": {"Read": {**task, "Parameters": parameters}}}

    error = refused(lambda: create_machine(aws, definition({"Bucket": "reports"})))

    assert (
        "The field 'Key' is required but was missing at /States/Read/Parameters"
        in (error["Message"])
    )
    assert create_machine(aws, definition({"Bucket": "reports", "Key.$": "$.key"}))


def test_a_task_request_that_breaks_the_api_fails_the_state_as_sagemaker_does(
    aws: Callable[[str], BaseClient],
) -> None:
    definition = {
        "StartAt": "Create model",
        "States": {
            "Create model": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$.name",
                    "ExecutionRoleArn": ROLE,
                    "PrimaryContainer": {"Image": IMAGE},
                },
                "End": True,
            }
        },
    }
    machine = create_machine(aws, definition)
    sfn = aws("stepfunctions")

    failed = run_execution(sfn, machine, {"name": name(64)})
    succeeded = run_execution(sfn, machine, {"name": name(63)})

    assert (failed["status"], failed["error"]) == ("FAILED", "SageMaker.AmazonSageMakerException")
    assert (
        "at 'modelName' failed to satisfy constraint: Member must have length less than or "
        "equal to 63" in failed["cause"]
    )
    assert "Error Code: ValidationException" in failed["cause"]
    assert succeeded["status"] == "SUCCEEDED"


def test_an_aws_sdk_task_request_is_checked_by_the_service_it_reaches(
    aws: Callable[[str], BaseClient],
) -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint"}
    definition = {
        "StartAt": "Look up",
        "States": {"Look up": {**task, "Parameters": {"EndpointName.$": "$.name"}, "End": True}},
    }
    machine = create_machine(aws, definition)
    sfn = aws("stepfunctions")

    invalid = run_execution(sfn, machine, {"name": "run_1"})
    valid = run_execution(sfn, machine, {"name": "run-1"})

    assert (invalid["status"], invalid["error"]) == ("FAILED", "SageMaker.SageMakerException")
    assert "Value 'run_1' at 'endpointName' failed to satisfy constraint" in invalid["cause"]
    assert "Could not find endpoint" in valid["cause"]  # it reached SageMaker: moto's answer
