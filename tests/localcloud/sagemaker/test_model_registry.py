"""The Model Registry calls the pipeline's register step and release owners use."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import Cloud, unique

SERVING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"


def register(cloud: Cloud, group: str, status: str, exact_match: str) -> str:
    return cloud.client("sagemaker").create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"exact match {exact_match}",
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": SERVING_IMAGE,
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": f"s3://{cloud.bucket}/runs/{group}/model/",
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                    "Environment": {"OPTION_MAX_MODEL_LEN": "2048"},
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.g5.2xlarge", "ml.g6e.xlarge"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{cloud.bucket}/runs/{group}/evaluation/report.json",
                }
            }
        },
        CustomerMetadataProperties={"exact_match": exact_match},
    )["ModelPackageArn"]


def test_model_packages_are_versioned_approved_and_listed(cloud: Cloud) -> None:
    group = unique("models")
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_model_package_group(
        ModelPackageGroupName=group, ModelPackageGroupDescription="fine-tuned SQL models"
    )
    first = register(cloud, group, "PendingManualApproval", "0.71")
    second = register(cloud, group, "Approved", "0.78")
    assert first.endswith(f"{group}/1") and second.endswith(f"{group}/2")

    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageVersion"] == 1
    container = described["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataSource"]["S3DataSource"]["CompressionType"] == "None"
    assert described["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        "ml.g5.2xlarge",
        "ml.g6e.xlarge",
    ]
    assert described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(
        "evaluation/report.json"
    )

    sagemaker.update_model_package(
        ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="release 1"
    )
    updated = sagemaker.describe_model_package(ModelPackageName=first)
    assert updated["ModelApprovalStatus"] == "Approved"
    assert updated["ApprovalDescription"] == "release 1"
    # Fields the update does not name are kept, as on SageMaker.
    assert updated["CustomerMetadataProperties"] == {"exact_match": "0.71"}
    approved = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in approved] == [2, 1]

    with pytest.raises(ClientError, match="ValidationException"):
        sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Maybe")


def test_a_stack_can_declare_the_model_package_group(cloud: Cloud) -> None:
    group = unique("stack-models")
    template = {
        "Resources": {
            "Registry": {
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": {
                    "ModelPackageGroupName": group,
                    "ModelPackageGroupDescription": "from CloudFormation",
                },
            }
        },
        "Outputs": {
            "Arn": {"Value": {"Ref": "Registry"}},
            "ArnAttribute": {"Value": {"Fn::GetAtt": ["Registry", "ModelPackageGroupArn"]}},
        },
    }
    cfn, sagemaker = cloud.client("cloudformation"), cloud.client("sagemaker")
    stack = unique("registry-stack")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    }
    described = sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    assert described["ModelPackageGroupDescription"] == "from CloudFormation"
    assert outputs == {
        "Arn": described["ModelPackageGroupArn"],
        "ArnAttribute": described["ModelPackageGroupArn"],
    }
    assert register(cloud, group, "Approved", "0.8").endswith(f"{group}/1")
    cfn.delete_stack(StackName=stack)
    with pytest.raises(ClientError, match="does not exist"):
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
