"""Stage 6: the quality gate, and registering a model that passes it.

The gate reads ``report.json``'s ``gate.value`` (the chosen metric, measured) and compares it
with the run's threshold. A report without a numeric value fails the gate rather than the
state machine: a Choice on a missing path would stop the execution before the cleanup.
A passing model becomes a new version in the project's model package group, with the
environment's approval status (Approved in dev, PendingManualApproval elsewhere).
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, SAGEMAKER_SDK_CREATE, StepContext, task
from stacks.workflow.steps.deploy_eval_endpoint import serving_container

VALUE = "$.evaluation.report.gate.value"
THRESHOLD = "$.run.evaluation.threshold"


class QualityGate:
    """Is the report complete? -> Is the model good enough? -> Register the model."""

    def __init__(self, scope: Construct, ctx: StepContext, *, model_package_group: str) -> None:
        self.complete = sfn.Choice(scope, "Is the evaluation report complete?")
        self.good_enough = sfn.Choice(scope, "Is the model good enough?")
        self.record_unreadable = sfn.Pass(
            scope,
            "Record the unreadable report",
            parameters={
                "Error": "EvaluationReportIncomplete",
                "Cause.$": "States.Format('{} has no numeric gate.value', $.run.uris.report)",
            },
            result_path=ERROR_PATH,
        )
        self.record_failure = sfn.Pass(
            scope,
            "Record the gate failure",
            parameters={
                "Error": "QualityGateFailed",
                "Cause.$": "States.Format('{} = {} is below the threshold {}; report: {}', "
                f"$.run.evaluation.metric, {VALUE}, {THRESHOLD}, $.run.uris.report)",
            },
            result_path=ERROR_PATH,
        )
        self.register = task(
            scope,
            "Register the model",
            "aws-sdk:sagemaker:createModelPackage",
            self._model_package(ctx, model_package_group),
            retry=SAGEMAKER_SDK_CREATE,
            result_selector={"model_package_arn.$": "$.ModelPackageArn"},
            result_path="$.registered",
        )
        self.complete.when(
            sfn.Condition.and_(sfn.Condition.is_present(VALUE), sfn.Condition.is_numeric(VALUE)),
            self.good_enough,
        ).otherwise(self.record_unreadable)
        self.good_enough.when(
            sfn.Condition.number_greater_than_equals_json_path(VALUE, THRESHOLD), self.register
        ).otherwise(self.record_failure)
        self.start: sfn.IChainable = self.complete
        self.tasks = [self.register]

    @staticmethod
    def _model_package(ctx: StepContext, group: str) -> dict:
        endpoint = ctx.config.endpoint
        return {
            "ModelPackageGroupName": group,
            # A retry after a create that went through (a 5xx on the way back) returns the same
            # version instead of registering the model twice: the token is the execution's.
            "ClientToken.$": "States.Hash($$.Execution.Id, 'MD5')",
            "ModelPackageDescription.$": "States.Format('Run {}: {} = {} (threshold {})', "
            f"$.run.run_name, $.run.evaluation.metric, {VALUE}, {THRESHOLD})",
            "ModelApprovalStatus": ctx.config.model_approval,
            "InferenceSpecification": {
                "Containers": [
                    serving_container(
                        ctx, endpoint.instance_type, {"S3Uri.$": "$.training.model_data"}
                    )
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
                "SupportedRealtimeInferenceInstanceTypes": sorted(
                    {endpoint.instance_type, ctx.config.evaluation.instance_type}
                ),
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri.$": "$.run.uris.report",
                    }
                }
            },
            "CustomerMetadataProperties": {
                "run_name.$": "$.run.run_name",
                "training_job.$": "$.run.names.training_job",
                "recipe.$": "$.run.recipe",
                "metric.$": "$.run.evaluation.metric",
                "metric_value.$": f"States.Format('{{}}', {VALUE})",
            },
        }

    def then(self, registered: sfn.IChainable, failed: sfn.IChainable) -> None:
        self.register.next(registered)
        self.record_unreadable.next(failed)
        self.record_failure.next(failed)
