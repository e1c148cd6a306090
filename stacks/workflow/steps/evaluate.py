"""Stage 5: evaluate the endpoint (a Processing job running ``evaluation.py``), read the report.

The job sends the held-out test split to the evaluation endpoint and writes ``report.json``,
``predictions.jsonl`` and ``report.html`` to ``runs/<run>/evaluation/``. A job's output never
comes back to the state machine, so the report is read back from S3 (``aws-sdk:s3:getObject``)
and parsed into ``$.evaluation.report`` for the gate.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.steps.common import IDEMPOTENT, SAGEMAKER_CREATE, StepContext, task
from stacks.workflow.steps.processing import processing_request


class Evaluation:
    """Evaluate the model, then read the evaluation report."""

    def __init__(self, scope: Construct, ctx: StepContext) -> None:
        self.evaluate = task(
            scope,
            "Evaluate the model",
            "sagemaker:createProcessingJob.sync",
            processing_request(
                scope,
                ctx,
                name_key="evaluation_job",
                plan_key="evaluate",
                program=contract.EVALUATE_PROGRAM,
                output_name="evaluation",
                output_uri_key="evaluation",
                # It calls the endpoint through the SageMaker runtime API.
                network_isolation=False,
            ),
            retry=SAGEMAKER_CREATE,
            result_selector={"job_arn.$": "$.ProcessingJobArn"},
            result_path="$.evaluated",
            comment="Send the test split to the endpoint; write runs/<run>/evaluation/",
        )
        self.read_report = task(
            scope,
            "Read the evaluation report",
            "aws-sdk:s3:getObject",
            {"Bucket.$": "$.run.report.bucket", "Key.$": "$.run.report.key"},
            retry=IDEMPOTENT,
            result_selector={"report.$": "States.StringToJson($.Body)"},
            result_path="$.evaluation",
        )
        self.evaluate.next(self.read_report)
        self.start: sfn.IChainable = self.evaluate
        self.tasks = [self.evaluate, self.read_report]

    def then(self, state: sfn.IChainable) -> None:
        self.read_report.next(state)
