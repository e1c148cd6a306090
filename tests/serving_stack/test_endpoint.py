"""The pinned model's endpoint: container, instances, data capture, names, outputs."""

from __future__ import annotations

import json

import pytest

from contracts import serving_images
from tests.pipeline.synth import DEV_MODEL, LOCAL_MODEL, PROMOTED_MODEL

LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi18.0.0-cu128"


def _one(synth, stage: str, resource_type: str) -> tuple[str, dict]:
    ((logical_id, resource),) = synth.resources(stage, "Serving", resource_type).items()
    return logical_id, resource["Properties"]


def test_an_s3_pin_serves_the_uncompressed_prefix_on_the_lmi_image(pinned_pipeline):
    _, model = _one(pinned_pipeline, "Dev", "AWS::SageMaker::Model")
    container = model["PrimaryContainer"]
    assert container["Image"] == LMI_IMAGE
    assert container["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": DEV_MODEL,
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    assert container["Environment"] == serving_images.serving_environment(
        max_model_len=4096, max_concurrency=64, tensor_parallel_degree=1
    )
    assert "ModelPackageName" not in container
    assert model["EnableNetworkIsolation"] is False  # dev's network.network_isolation


@pytest.mark.parametrize("stage", ["Staging", "Prod"])
def test_a_model_package_pin_brings_its_own_image_and_data(pinned_pipeline, stage):
    _, model = _one(pinned_pipeline, stage, "AWS::SageMaker::Model")
    container = model["PrimaryContainer"]
    assert container["ModelPackageName"] == PROMOTED_MODEL
    assert "Image" not in container and "ModelDataSource" not in container
    assert container["Environment"]["OPTION_MAX_MODEL_LEN"] == "4096"
    assert model["EnableNetworkIsolation"] is True


@pytest.mark.parametrize(
    ("stage", "instance", "count", "capture"),
    [
        ("Dev", "ml.g5.2xlarge", 1, 100),
        ("Staging", "ml.g5.2xlarge", 1, 100),
        ("Prod", "ml.g5.2xlarge", 2, 20),
    ],
)
def test_instances_and_data_capture_follow_config(pinned_pipeline, stage, instance, count, capture):
    model_id, _ = _one(pinned_pipeline, stage, "AWS::SageMaker::Model")
    _, config = _one(pinned_pipeline, stage, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
        "InstanceType": instance,
        "InitialInstanceCount": count,
        "ContainerStartupHealthCheckTimeoutInSeconds": serving_images.MODEL_LOADING_TIMEOUT_S,
        "ModelDataDownloadTimeoutInSeconds": 1800,
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    capture_config = config["DataCaptureConfig"]
    assert capture_config["EnableCapture"] is True
    assert capture_config["InitialSamplingPercentage"] == capture
    assert capture_config["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    # Into this environment's artifacts bucket, encrypted with its key.
    destination = json.dumps(capture_config["DestinationS3Uri"])
    assert f'"StackName": "{stage}-Storage"' in destination and "/data-capture" in destination
    assert f'"StackName": "{stage}-Storage"' in json.dumps(capture_config["KmsKeyId"])


def test_nothing_is_named_so_a_new_pin_replaces_model_and_config_beside_the_old(pinned_pipeline):
    """CloudFormation names these; a fixed name would block the replacement a new pin needs."""
    for stage in ("Dev", "Staging", "Prod"):
        _, model = _one(pinned_pipeline, stage, "AWS::SageMaker::Model")
        _, config = _one(pinned_pipeline, stage, "AWS::SageMaker::EndpointConfig")
        endpoint_id, endpoint = _one(pinned_pipeline, stage, "AWS::SageMaker::Endpoint")
        assert "ModelName" not in model
        assert "EndpointConfigName" not in config
        assert "EndpointName" not in endpoint
        # Pinned: a new logical id would replace the endpoint, and clients lose its name.
        assert endpoint_id == "Endpoint8024A810"


def test_the_endpoint_keeps_its_autoscaled_size_when_the_model_changes(pinned_pipeline):
    _, endpoint = _one(pinned_pipeline, "Prod", "AWS::SageMaker::Endpoint")
    assert endpoint["RetainAllVariantProperties"] is True
    assert endpoint["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DataCaptureConfig"}
    ]


@pytest.mark.parametrize("stage", ["Dev", "Staging", "Prod"])
def test_endpoint_name_is_an_output(pinned_pipeline, stage):
    endpoint_id, _ = _one(pinned_pipeline, stage, "AWS::SageMaker::Endpoint")
    outputs = pinned_pipeline.templates[(stage, "Serving")]["Outputs"]
    assert outputs["EndpointName"]["Value"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}


def test_local_serves_a_model_package_of_its_own_account(local_pinned):
    _, model = _one(local_pinned, "Local", "AWS::SageMaker::Model")
    assert model["PrimaryContainer"]["ModelPackageName"] == LOCAL_MODEL
    _, config = _one(local_pinned, "Local", "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.xlarge"
    assert model["PrimaryContainer"]["Environment"]["OPTION_MAX_MODEL_LEN"] == "2048"


@pytest.mark.parametrize("stage", ["Staging", "Prod"])
def test_in_vpc_mode_the_endpoint_runs_in_the_workflow_s_vpc(pinned_pipeline, stage):
    """network.vpc (on in staging and prod): the serving model gets the jobs' subnets and
    security group, and its role the VPC's network interfaces only."""
    _, model = _one(pinned_pipeline, stage, "AWS::SageMaker::Model")
    outputs = {
        key: [value["Fn::GetStackOutput"] for value in values]
        for key, values in model["VpcConfig"].items()
    }  # the workflow stack's own network, not a copy
    assert {o["StackName"] for values in outputs.values() for o in values} == {f"{stage}-Workflow"}
    (group,) = outputs["SecurityGroupIds"]
    assert group["OutputName"].startswith("PublishOutputFnGetAttNetworkJobs")
    assert [
        s["OutputName"][: len("PublishOutputRefNetworkVpcJobsSubnet1")] for s in outputs["Subnets"]
    ] == ["PublishOutputRefNetworkVpcJobsSubnet1", "PublishOutputRefNetworkVpcJobsSubnet2"]
    policies = pinned_pipeline.resources(stage, "Serving", "AWS::IAM::Policy").values()
    (interfaces,) = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ManageInterfaces"
    ]
    assert "ec2:CreateNetworkInterface" in interfaces["Action"]
    assert "NetworkVpc" in json.dumps(interfaces["Condition"]["ArnEquals"]["ec2:Vpc"])


def test_without_vpc_mode_the_endpoint_has_no_vpc_config(pinned_pipeline):
    _, model = _one(pinned_pipeline, "Dev", "AWS::SageMaker::Model")  # dev: network.vpc false
    assert "VpcConfig" not in model
