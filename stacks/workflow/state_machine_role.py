"""The state machine's role: exactly the calls its tasks make."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.workflow.contract import contract
from stacks.workflow.roles import run_suffix_arn, runs_objects, sagemaker_arn, statement

# The EventBridge rules Step Functions manages to follow `.sync` SageMaker jobs.
SYNC_RULES = (
    "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
)


def state_machine_statements(
    scope: Construct,
    *,
    sagemaker_role: iam.IRole,
    validator_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    topic_arn: str,
    model_package_group: str,
) -> list[iam.PolicyStatement]:
    """Exactly the calls the state machine's tasks make."""
    stack = Stack.of(scope)

    def arn(resource: str, name_key: str) -> str:
        return run_suffix_arn(scope, resource, name_key)

    return [
        statement("ValidateInput", ["lambda:InvokeFunction"], [validator_arn]),
        statement(
            "RunProcessingJobs",
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:AddTags",
            ],
            [arn("processing-job", "prepare_job"), arn("processing-job", "evaluation_job")],
        ),
        statement(
            "RunTrainingJob",
            [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ],
            [arn("training-job", "training_job")],
        ),
        statement(
            "FollowJobs",
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [
                stack.format_arn(service="events", resource="rule", resource_name=rule)
                for rule in SYNC_RULES
            ],
        ),
        statement(
            "ManageEvaluationModel",
            ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:AddTags"],
            [arn("model", "model")],
        ),
        statement(
            "ManageEvaluationEndpointConfig",
            [
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
            ],
            [arn("endpoint-config", "endpoint_config")],
        ),
        statement(
            "ManageEvaluationEndpoint",
            [
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:AddTags",
            ],
            [arn("endpoint", "endpoint")],
        ),
        statement(
            "PassExecutionRole",
            ["iam:PassRole"],
            [sagemaker_role.role_arn],
            StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
        statement(
            "ReadEvaluationReport",
            ["s3:GetObject"],
            [runs_objects(artifacts_arn, f"*/evaluation/{contract.REPORT_FILE}")],
        ),
        statement(
            "RegisterModel",
            ["sagemaker:CreateModelPackage"],
            [
                sagemaker_arn(scope, "model-package-group", model_package_group),
                sagemaker_arn(scope, "model-package", f"{model_package_group}/*"),
            ],
        ),
        statement("Notify", ["sns:Publish"], [topic_arn]),
        statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]
