"""Stage 3: fine-tune (a ``.sync`` training job on the Hugging Face training image).

``train.py`` comes from the code tarball in the job's ``code`` channel (the toolkit unpacks
the local path ``sagemaker_submit_directory`` names), with the run plan's hyperparameters; the
toolkit first installs the locked libraries offline from the ``wheels`` channel
(``training_code/requirements.txt``). Managed spot training and checkpoints follow the
environment's config; more than one instance turns on torchrun across instances (the plan sets
the toolkit's flag). The model is written uncompressed, so ``ModelArtifacts.S3ModelArtifacts``
is a prefix that ``CreateModel`` and the model registry use as is.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import workflow as contract
from contracts.metrics import METRIC_DEFINITIONS
from stacks.workflow.instances import has_instance_storage
from stacks.workflow.steps.common import SAGEMAKER_CREATE, StepContext, run_tags, task


def train_model(scope: Construct, ctx: StepContext) -> sfn.CustomState:
    """The training job; keeps only the model's S3 prefix, at ``$.training.model_data``."""
    return task(
        scope,
        "Train the model",
        "sagemaker:createTrainingJob.sync",
        training_request(ctx),
        retry=SAGEMAKER_CREATE,
        result_selector={"model_data.$": "$.ModelArtifacts.S3ModelArtifacts"},
        result_path="$.training",
        comment="Fine-tune train.py with the recipe; the model lands in runs/<run>/model/",
    )


def training_request(ctx: StepContext) -> dict[str, Any]:
    """CreateTrainingJob parameters."""
    training = ctx.config.training
    resources: dict[str, Any] = {
        "InstanceType": training.instance_type,
        "InstanceCount": training.instance_count,
        "VolumeSizeInGB": training.volume_size_gb,
    }
    if not has_instance_storage(training.instance_type):
        resources["VolumeKmsKeyId"] = ctx.key_arn
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": training.max_runtime_minutes * 60}
    if training.use_spot:
        stopping["MaxWaitTimeInSeconds"] = training.max_wait_minutes * 60
    request: dict[str, Any] = {
        "TrainingJobName.$": "$.run.names.training_job",
        "RoleArn": ctx.sagemaker_role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": ctx.images.training,
            "TrainingInputMode": "File",
            "MetricDefinitions": METRIC_DEFINITIONS,
        },
        "HyperParameters.$": "$.run.training.hyperparameters",
        "InputDataConfig.$": "$.run.training.channels",
        "OutputDataConfig": {
            "S3OutputPath.$": "$.run.uris.model_output",
            "KmsKeyId": ctx.key_arn,
            "CompressionType": "NONE",
        },
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": training.use_spot,
        # Synced to S3 while the job runs; a spot interruption resumes from the last one.
        "CheckpointConfig": {
            "S3Uri.$": "$.run.uris.checkpoints",
            "LocalPath": contract.CHECKPOINT_DIR,
        },
        "EnableNetworkIsolation": ctx.config.network.network_isolation,
        "EnableInterContainerTrafficEncryption": ctx.network is not None,
        "Environment": {"HF_HUB_DISABLE_TELEMETRY": "1"},
        "Tags": run_tags(),
    }
    if ctx.network is not None:
        request["VpcConfig"] = ctx.network.vpc_config()
    return request
