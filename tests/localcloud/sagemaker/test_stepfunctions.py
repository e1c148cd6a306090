"""Step Functions executes SageMaker tasks: .sync training, model/endpoint creation, Catch."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from localcloud.sagemaker import running_pids

from .conftest import ROLE, Cloud, unique, wait_status
from .test_endpoints import SERVING_IMAGE
from .test_training_jobs import training_request

SFN_ROLE = "arn:aws:iam::123456789012:role/state-machine"


def training_task(cloud: Cloud, name: str, **hyperparameters: str) -> dict:
    """The Train state's Parameters: a CreateTrainingJob request with the name from input."""
    request = training_request(cloud, name, **hyperparameters)
    request.pop("TrainingJobName")
    return {"TrainingJobName.$": "$.name", **request}


def train_deploy_delete(cloud: Cloud, name: str) -> dict:
    return {
        "Comment": "train -> model -> config -> endpoint -> wait until InService -> delete",
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": training_task(cloud, name),
                "ResultSelector": {
                    "ModelData.$": "$.ModelArtifacts.S3ModelArtifacts",
                    "Status.$": "$.TrainingJobStatus",
                    "Billable.$": "$.BillableTimeInSeconds",
                    "Started.$": "$.TrainingStartTime",
                },
                "ResultPath": "$.training",
                "Next": "Create model",
            },
            "Create model": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$.name",
                    "ExecutionRoleArn": ROLE,
                    "PrimaryContainer": {
                        "Image": SERVING_IMAGE,
                        "ModelDataSource": {
                            "S3DataSource": {
                                "S3Uri.$": "$.training.ModelData",
                                "S3DataType": "S3Prefix",
                                "CompressionType": "None",
                            }
                        },
                    },
                },
                "ResultPath": "$.model",
                "Next": "Create endpoint config",
            },
            "Create endpoint config": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createEndpointConfig",
                "Parameters": {
                    "EndpointConfigName.$": "$.name",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName.$": "$.name",
                            "InstanceType": "ml.g5.2xlarge",
                            "InitialInstanceCount": 1,
                        }
                    ],
                },
                "ResultPath": None,
                "Next": "Create endpoint",
            },
            "Create endpoint": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createEndpoint",
                "Parameters": {"EndpointName.$": "$.name", "EndpointConfigName.$": "$.name"},
                "ResultPath": None,
                "Next": "Wait for endpoint",
            },
            "Wait for endpoint": {"Type": "Wait", "Seconds": 1, "Next": "Describe endpoint"},
            "Describe endpoint": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
                "Parameters": {"EndpointName.$": "$.name"},
                "ResultSelector": {"Status.$": "$.EndpointStatus"},
                "ResultPath": "$.endpoint",
                "Next": "Endpoint ready?",
            },
            "Endpoint ready?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.endpoint.Status",
                        "StringEquals": "InService",
                        "Next": "Delete endpoint",
                    },
                    {
                        "Variable": "$.endpoint.Status",
                        "StringEquals": "Failed",
                        "Next": "Endpoint failed",
                    },
                ],
                "Default": "Wait for endpoint",
            },
            "Delete endpoint": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:deleteEndpoint",
                "Parameters": {"EndpointName.$": "$.name"},
                "ResultPath": None,
                "End": True,
            },
            "Endpoint failed": {"Type": "Fail", "Error": "EndpointFailed"},
        },
    }


def train_or_clean_up(cloud: Cloud, name: str) -> dict:
    return {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": training_task(cloud, name, fail_with='"loss is NaN"'),
                "Catch": [
                    {
                        "ErrorEquals": ["States.TaskFailed"],
                        "ResultPath": "$.error",
                        "Next": "Clean up",
                    }
                ],
                "End": True,
            },
            "Clean up": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:deleteModel",
                "Parameters": {"ModelName.$": "$.name"},
                "Catch": [
                    {
                        "ErrorEquals": ["SageMaker.SageMakerException"],
                        "ResultPath": "$.cleanup",
                        "Next": "Training failed",
                    }
                ],
                "Next": "Training failed",
            },
            "Training failed": {"Type": "Fail", "Error": "TrainingFailed", "Cause": "see history"},
        },
    }


def run(cloud: Cloud, definition: dict, name: str, timeout_s: float = 90) -> dict:
    sfn = cloud.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique("machine"), definition=json.dumps(definition), roleArn=SFN_ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"name": name}))
    arn = execution["executionArn"]
    return wait_status(
        lambda: sfn.describe_execution(executionArn=arn),
        "status",
        {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"},
        timeout_s,
    )


def history(cloud: Cloud, execution_arn: str) -> list[dict]:
    return cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]


def test_train_sync_then_deploy_poll_and_delete_succeeds(cloud: Cloud) -> None:
    name = unique("sfn")
    execution = run(cloud, train_deploy_delete(cloud, name), name)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    output = json.loads(execution["output"])
    assert output["training"]["Status"] == "Completed"
    assert output["training"]["ModelData"] == f"s3://{cloud.bucket}/output/{name}/output/model/"
    assert output["training"]["Billable"] >= 1
    # Step Functions shows SageMaker timestamps as epoch milliseconds.
    assert isinstance(output["training"]["Started"], int)
    assert abs(output["training"]["Started"] / 1000 - time.time()) < 600
    assert output["model"]["ModelArn"].endswith(f":model/{name}")
    assert output["endpoint"] == {"Status": "InService"}
    sagemaker = cloud.client("sagemaker")
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == (
        "Completed"
    )
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sagemaker.describe_endpoint(EndpointName=name)
    assert running_pids() == []


def test_a_failed_training_job_is_caught_and_the_cleanup_state_runs(cloud: Cloud) -> None:
    name = unique("sfn-fail")
    execution = run(cloud, train_or_clean_up(cloud, name), name)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "TrainingFailed"
    events = history(cloud, execution["executionArn"])
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert entered == ["Train", "Clean up", "Training failed"]
    failures = [e["taskFailedEventDetails"] for e in events if "taskFailedEventDetails" in e]
    assert failures[0]["error"] == "States.TaskFailed"
    cause = json.loads(failures[0]["cause"])
    assert cause["TrainingJobName"] == name and cause["TrainingJobStatus"] == "Failed"
    assert "ValueError: loss is NaN" in cause["FailureReason"]
    # aws-sdk errors are named as AWS names them, so the Catch on the clean-up matched.
    assert failures[1]["error"] == "SageMaker.SageMakerException"
    assert "Could not find model" in failures[1]["cause"]


def test_request_response_create_returns_the_arn_and_the_job_keeps_running(cloud: Cloud) -> None:
    name = unique("sfn-rr")
    definition = {
        "StartAt": "Start training",
        "States": {
            "Start training": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob",
                "Parameters": training_task(cloud, name, sleep="30"),
                "End": True,
            }
        },
    }
    execution = run(cloud, definition, name)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert json.loads(execution["output"])["TrainingJobArn"].endswith(f":training-job/{name}")
    job = cloud.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "InProgress"


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("arn:aws:states:::sagemaker:deleteEndpoint", "aws-sdk:sagemaker:deleteEndpoint"),
        ("arn:aws:states:::sagemaker:createModel.sync", "does not support .sync"),
    ],
)
def test_resources_aws_rejects_are_rejected_when_the_machine_is_created(
    cloud: Cloud, resource: str, message: str
) -> None:
    definition = {
        "StartAt": "Task",
        "States": {"Task": {"Type": "Task", "Resource": resource, "Parameters": {}, "End": True}},
    }
    with pytest.raises(ClientError, match=message) as rejected:
        cloud.client("stepfunctions").create_state_machine(
            name=unique("bad"), definition=json.dumps(definition), roleArn=SFN_ROLE
        )
    # moto 5.2.5 sends InvalidDefinition with an empty error code; the status and text are right.
    assert rejected.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_stopping_the_execution_stops_the_training_job_it_waits_for(cloud: Cloud) -> None:
    name = unique("sfn-stop")
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": training_task(cloud, name, sleep="60"),
                "End": True,
            }
        },
    }
    sfn, sagemaker = cloud.client("stepfunctions"), cloud.client("sagemaker")
    machine = sfn.create_state_machine(
        name=unique("machine"), definition=json.dumps(definition), roleArn=SFN_ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"name": name}))[
        "executionArn"
    ]

    def describe() -> dict:
        try:
            return sagemaker.describe_training_job(TrainingJobName=name)
        except sagemaker.exceptions.ClientError:
            return {"SecondaryStatus": "not created yet"}

    wait_status(describe, "SecondaryStatus", {"Training"})
    sfn.stop_execution(executionArn=arn, error="Cancelled", cause="by the test")
    job = wait_status(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        "TrainingJobStatus",
        {"Stopped", "Completed", "Failed"},
        timeout_s=30,
    )
    assert job["TrainingJobStatus"] == "Stopped"
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_a_field_the_api_does_not_have_fails_the_task_instead_of_being_dropped(
    cloud: Cloud,
) -> None:
    name = unique("sfn-typo")
    definition = {
        "StartAt": "Create model",
        "States": {
            "Create model": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$.name",
                    "ExecutionRoleArn": ROLE,
                    "PrimaryContainer": {"Image": SERVING_IMAGE},
                    "ModelDataUrl": "s3://misplaced/model.tar.gz",
                },
                "End": True,
            }
        },
    }
    execution = run(cloud, definition, name)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "States.Runtime"
    assert 'The field "ModelDataUrl" is not supported by Step Functions' in execution["cause"]
    with pytest.raises(ClientError, match="Could not find model"):
        cloud.client("sagemaker").describe_model(ModelName=name)


def test_a_value_of_the_wrong_type_is_a_sagemaker_validation_error(cloud: Cloud) -> None:
    name = unique("sfn-type")
    parameters = training_task(cloud, name)
    parameters["HyperParameters"] = {"epochs": 3}  # SageMaker takes strings only
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": parameters,
                "End": True,
            }
        },
    }
    execution = run(cloud, definition, name)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "SageMaker.AmazonSageMakerException"
    assert "HyperParameters.epochs" in execution["cause"]
    assert "Error Code: ValidationException" in execution["cause"]
