"""Stage 6: the quality gate, and registering a model that passes it.

The gate reads ``report.json``'s ``gate.value`` (the chosen metric, measured) and compares it
with the run's threshold. Where a champion was evaluated, the new model must also reach
``gate.champion.bar``: the champion's value plus ``min_improvement``, which the evaluation job
adds up, since the state language has no arithmetic on decimals; the comparison is a
``NumericGreaterThanEqualsPath``. A model that does not fails the run as ``ChampionNotBeaten``.
A report without the numbers it needs fails the gate rather than the state machine: a Choice on
a missing path would stop the execution before the cleanup.
A passing model becomes a new version in the project's model package group, with the
environment's approval status (Approved in dev, PendingManualApproval elsewhere).
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, SAGEMAKER_SDK_CREATE, StepContext, task
from stacks.workflow.steps.deploy_eval_endpoint import serving_container
from stacks.workflow.steps.temporary_endpoints import champion_found

VALUE = "$.evaluation.report.gate.value"
THRESHOLD = "$.run.evaluation.threshold"
CHAMPION_VALUE = "$.evaluation.report.gate.champion.value"
CHAMPION_BAR = "$.evaluation.report.gate.champion.bar"


def _numeric(path: str) -> sfn.Condition:
    return sfn.Condition.and_(sfn.Condition.is_present(path), sfn.Condition.is_numeric(path))


class QualityGate:
    """Is the report complete? -> Is the model good enough? -> Does it beat the champion?
    -> Register the model."""

    def __init__(self, scope: Construct, ctx: StepContext, *, model_package_group: str) -> None:
        self.complete = sfn.Choice(scope, "Is the evaluation report complete?")
        self.good_enough = sfn.Choice(scope, "Is the model good enough?")
        self.beats_champion = sfn.Choice(scope, "Does the model beat the champion?")
        self.record_unreadable = sfn.Pass(
            scope,
            "Record the unreadable report",
            parameters={
                "Error": "EvaluationReportIncomplete",
                "Cause.$": "States.Format('{} has no numeric gate.value (or, when a champion "
                "is compared, gate.champion.value and gate.champion.bar)', $.run.uris.report)",
            },
            result_path=ERROR_PATH,
        )
        self.record_not_beaten = sfn.Pass(
            scope,
            "Record that the champion was not beaten",
            parameters={
                "Error": "ChampionNotBeaten",
                "Cause.$": "States.Format('{} = {} does not beat the champion {}: its {} is {}, "
                "and min_improvement {} asks for at least {}; report: {}', "
                f"$.run.evaluation.metric, {VALUE}, $.champion.source, $.run.evaluation.metric, "
                f"{CHAMPION_VALUE}, $.run.evaluation.min_improvement, {CHAMPION_BAR}, "
                "$.run.uris.report)",
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
            sfn.Condition.and_(
                _numeric(VALUE),
                sfn.Condition.or_(
                    sfn.Condition.not_(champion_found()),
                    sfn.Condition.and_(_numeric(CHAMPION_VALUE), _numeric(CHAMPION_BAR)),
                ),
            ),
            self.good_enough,
        ).otherwise(self.record_unreadable)
        self.good_enough.when(
            sfn.Condition.number_greater_than_equals_json_path(VALUE, THRESHOLD),
            self.beats_champion,
        ).otherwise(self.record_failure)
        # No champion (none compared, or none yet): the threshold alone decides.
        self.beats_champion.when(sfn.Condition.not_(champion_found()), self.register)
        self.beats_champion.when(
            sfn.Condition.number_greater_than_equals_json_path(VALUE, CHAMPION_BAR), self.register
        ).otherwise(self.record_not_beaten)
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
        self.record_not_beaten.next(failed)
