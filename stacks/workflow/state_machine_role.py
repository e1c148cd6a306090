"""The state machine's role: exactly the calls its tasks make."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.roles import run_suffix_arn, runs_objects, sagemaker_arn, statement

# Step Functions' SageMaker integration calls ListTags on what it creates: AWS's policies for it
# ("IAM policies for Amazon SageMaker AI" in the Step Functions developer guide,
# https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html) and CDK's own
# SageMakerCreateTrainingJob, CreateModel, CreateEndpointConfig and CreateEndpoint tasks
# (aws-cdk-lib aws-stepfunctions-tasks/lib/sagemaker/*.js) grant it beside each create. Here it
# is scoped to the run's resources instead of their "*"; the local cloud checks it on them
# (localcloud/sagemaker/sfn_permissions.py).
LIST_TAGS = "sagemaker:ListTags"

# The EventBridge rules Step Functions manages to follow `.sync` SageMaker jobs.
SYNC_RULES = (
    "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
)


def state_machine_statements(
    scope: Construct,
    *,
    sagemaker_role: iam.IRole,
    endpoint_role: iam.IRole,
    validator_arn: str,
    artifacts_arn: str,
    key: kms.IKey,
    topic_arn: str,
    model_package_group: str,
    champion_pin: str | None = None,
) -> list[iam.PolicyStatement]:
    """Exactly the calls the state machine's tasks make.

    It passes ``sagemaker_role`` to the jobs and ``endpoint_role`` to the temporary models;
    ``champion_pin`` is the served model package it reads as the champion, if any.
    """
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
                LIST_TAGS,
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
                LIST_TAGS,
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
        *_temporary_endpoint_statements(arn, "Evaluation", ""),
        *_temporary_endpoint_statements(arn, "Base", "base_"),
        *_temporary_endpoint_statements(arn, "Champion", "champion_"),
        # The champion: the newest Approved version of this environment's group, read back. AWS
        # grants both actions on the group's ARN and its versions' ARNs in its own model-group
        # policy ("Set up discoverability", https://docs.aws.amazon.com/sagemaker/latest/dg/
        # model-registry-ram-discover.html), and so does share_registry in serving/.
        statement(
            "FindChampion",
            ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
            [
                sagemaker_arn(scope, "model-package-group", model_package_group),
                sagemaker_arn(scope, "model-package", f"{model_package_group}/*"),
            ],
        ),
        *(
            [statement("ReadServedChampion", ["sagemaker:DescribeModelPackage"], [champion_pin])]
            if champion_pin
            else []
        ),
        statement(
            "PassExecutionRole",
            ["iam:PassRole"],
            [sagemaker_role.role_arn, endpoint_role.role_arn],
            StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
        # Keep the trained model: list and read what the training job wrote, write the copy
        # under models/ (no other role may; see steps/keep_model.py).
        statement(
            "ListTrainedModels",
            ["s3:ListBucket"],
            [artifacts_arn],
            StringLike={"s3:prefix": [contract.TRAINED_MODEL_OBJECTS]},
        ),
        statement(
            "KeepTrainedModels",
            ["s3:GetObject"],
            [f"{artifacts_arn}/{contract.TRAINED_MODEL_OBJECTS}"],
        ),
        statement(
            "WriteKeptModels",
            ["s3:PutObject"],
            [f"{artifacts_arn}/{contract.MODEL_OBJECTS}"],
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


def _temporary_endpoint_statements(
    arn: Callable[[str, str], str], title: str, key_prefix: str
) -> list[iam.PolicyStatement]:
    """Create, poll and delete one temporary endpoint with its config and model.

    Args:
        arn: the ARN pattern of a run's resource from its run-plan key.
        title: the endpoint's word in the statement ids (``Manage<title>Model``...).
        key_prefix: the prefix of its keys in the run plan (``contracts.workflow.NAME_SUFFIXES``).
    """
    return [
        statement(
            f"Manage{title}Model",
            ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:AddTags", LIST_TAGS],
            [arn("model", f"{key_prefix}model")],
        ),
        statement(
            f"Manage{title}EndpointConfig",
            [
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
                LIST_TAGS,
            ],
            [arn("endpoint-config", f"{key_prefix}endpoint_config")],
        ),
        statement(
            f"Manage{title}Endpoint",
            [
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:AddTags",
                LIST_TAGS,
            ],
            [arn("endpoint", f"{key_prefix}endpoint")],
        ),
        # CreateEndpoint is authorized on the endpoint config it names too (CDK's own
        # SageMakerCreateEndpoint task grants both).
        statement(
            f"Create{title}EndpointFromItsConfig",
            ["sagemaker:CreateEndpoint"],
            [arn("endpoint-config", f"{key_prefix}endpoint_config")],
        ),
    ]
