"""The request shared by the data-preparation and evaluation Processing jobs.

Both run a script from the ``training_code`` tarball on the job image. The container entry
point only unpacks the tarball and hands over to its ``job_entry.sh``, which installs the
locked libraries offline from the job's ``wheels`` input and runs ``python3 <program>
<arguments>``: SageMaker allows 256 characters per ``ContainerEntrypoint`` item (botocore's
``ContainerEntrypointString``), too few for the whole script inline.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.instances import has_instance_storage
from stacks.workflow.steps.common import StepContext, run_tags

UNPACKED_CODE_DIR = "/opt/ml/processing/code"
# The execution that created the job. The stopped-run cleanup reads it from the run's first
# job: an execution stopped before it claimed a run name must not delete the endpoints of the
# earlier run that holds the name.
STARTED_BY = "STARTED_BY_EXECUTION"


def entrypoint(program: str) -> list[str]:
    """``bash -c`` that unpacks the code and runs its entry script for ``program``.

    The job's ``ContainerArguments`` arrive as ``"$@"``; ``program`` fills ``$0``.
    """
    script = "; ".join(
        [
            "set -eu",
            f"mkdir -p {UNPACKED_CODE_DIR}",
            f"tar -xzf {contract.PROCESSING_CODE_DIR}/*.gz -C {UNPACKED_CODE_DIR}",
            f'exec {UNPACKED_CODE_DIR}/{contract.PROCESSING_ENTRY_SCRIPT} "$0" "$@"',
        ]
    )
    return ["bash", "-c", script, program]


def processing_request(
    scope: Construct,
    ctx: StepContext,
    *,
    name_key: str,
    plan_key: str,
    program: str,
    output_name: str,
    output_uri_key: str,
    network_isolation: bool,
) -> dict[str, Any]:
    """CreateProcessingJob parameters; per-run parts come from ``$.run`` (the run plan).

    Args:
        name_key: which ``$.run.names`` entry names the job.
        plan_key: which ``$.run`` entry holds the job's ``inputs`` and ``arguments``.
        program: the script in the code tarball.
        output_name: the name of the job's one output.
        output_uri_key: which ``$.run.uris`` entry the output folder is copied to.
        network_isolation: no network inside the container (the evaluation job needs it).
    """
    processing = ctx.config.processing
    cluster: dict[str, Any] = {
        "InstanceType": processing.instance_type,
        "InstanceCount": 1,
        "VolumeSizeInGB": processing.volume_size_gb,
    }
    if not has_instance_storage(processing.instance_type):
        cluster["VolumeKmsKeyId"] = ctx.key_arn
    network: dict[str, Any] = {
        "EnableNetworkIsolation": network_isolation,
        "EnableInterContainerTrafficEncryption": ctx.network is not None,
    }
    if ctx.network is not None:
        network["VpcConfig"] = ctx.network.vpc_config()
    return {
        "ProcessingJobName.$": f"$.run.names.{name_key}",
        "RoleArn": ctx.sagemaker_role_arn,
        "AppSpecification": {
            "ImageUri": ctx.images.processing,
            "ContainerEntrypoint": entrypoint(program),
            "ContainerArguments.$": f"$.run.{plan_key}.arguments",
        },
        "ProcessingInputs.$": f"$.run.{plan_key}.inputs",
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": output_name,
                    "S3Output": {
                        "S3Uri.$": f"$.run.uris.{output_uri_key}",
                        "LocalPath": contract.PROCESSING_OUTPUT_DIR,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": ctx.key_arn,
        },
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_minutes * 60},
        "Environment": {
            contract.WHEELS_DIR_VARIABLE: contract.PROCESSING_WHEELS_DIR,
            "AWS_DEFAULT_REGION": Stack.of(scope).region,
            "PYTHONUNBUFFERED": "1",
            f"{STARTED_BY}.$": "$$.Execution.Id",
        },
        "NetworkConfig": network,
        "Tags": run_tags(),
    }
