"""Stage 2: prepare the data (a Processing job running ``prepare_data.py``).

Reads the user's records (or a Hugging Face dataset), checks and normalises them, splits
train/validation/test and writes them with ``stats.json`` to ``runs/<run>/data/``.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.steps.common import SAGEMAKER_CREATE, StepContext, task
from stacks.workflow.steps.processing import processing_request


def prepare_data(scope: Construct, ctx: StepContext) -> sfn.CustomState:
    """The ``.sync`` Processing job; keeps only the job's ARN (the data is in S3)."""
    return task(
        scope,
        "Prepare the data",
        "sagemaker:createProcessingJob.sync",
        processing_request(
            scope,
            ctx,
            name_key="prepare_job",
            plan_key="prepare",
            program=contract.PREPARE_PROGRAM,
            output_name="data",
            output_uri_key="data",
            network_isolation=ctx.config.network.network_isolation,
        ),
        retry=SAGEMAKER_CREATE,
        result_selector={"job_arn.$": "$.ProcessingJobArn"},
        result_path="$.prepared",
        comment="Validate, normalise, de-duplicate and split the records into runs/<run>/data/",
    )
