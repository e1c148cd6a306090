"""The training state machine: one chain from raw data to a gated, registered model.

    Validate the input -> Check that the run name is new -> Prepare the data -> Train the model
    -> Keep the trained model (a copy under models/, which no job can write)
    -> Create the evaluation model
    -> ... endpoint config -> ... endpoint -> (the same for the base model and the champion,
       if compared) -> (poll until InService) -> Evaluate the model
    -> Read the evaluation report -> (gate) -> Register the model -> cleanup -> Cost the run
    -> notify

Every task after validation catches every error into ``$.error`` and goes to the cleanup,
which deletes the temporary endpoints, configs and models, prices what the run ran (a failure
to do so is noted, never fatal), then notifies and fails with the cause. A rejected input, or
a run name an earlier run holds, launches nothing, so it goes straight to its notification.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs
from stacks.workflow.logged_state_machine import logged_state_machine
from stacks.workflow.steps.cleanup import Cleanup
from stacks.workflow.steps.common import (
    ERROR_PATH,
    LAMBDA_SERVICE,
    LOOKUP,
    StepContext,
    not_found,
    on_failure,
    task,
)
from stacks.workflow.steps.cost import CostTheRun
from stacks.workflow.steps.deploy_eval_endpoint import EvaluationEndpoints
from stacks.workflow.steps.evaluate import Evaluation
from stacks.workflow.steps.gate_register import QualityGate
from stacks.workflow.steps.keep_model import KeepModel
from stacks.workflow.steps.notify import (
    notify_failure,
    notify_not_started,
    notify_rejected,
    notify_success,
)
from stacks.workflow.steps.prepare import prepare_data
from stacks.workflow.steps.rejection import read_the_problems
from stacks.workflow.steps.train import train_model


class TrainingStateMachine(Construct):
    """The standard workflow, with logging of every event (execution data included) and X-Ray."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ctx: StepContext,
        validator: lambda_.IFunction,
        cost_function: lambda_.IFunction,
        topic_arn: str,
        model_package_group: str,
        role: iam.IRole,
        logs: EncryptedLogs,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine = logged_state_machine(
            self,
            log_name="training",
            comment="Fine-tune an LLM: prepare, train, evaluate on a temporary endpoint, gate, "
            "register, clean up. Input contract: docs/execution-input.md",
            definition=self._definition(
                ctx, validator, topic_arn, model_package_group, cost_function
            ),
            role=role,
            logs=logs,
        )

    def _definition(
        self,
        ctx: StepContext,
        validator: lambda_.IFunction,
        topic_arn: str,
        model_package_group: str,
        cost_function: lambda_.IFunction,
    ) -> sfn.IChainable:
        validate = task(
            self,
            "Validate the input",
            "lambda:invoke",
            {
                "FunctionName": validator.function_arn,
                "Payload": {"input.$": "$", "execution_name.$": "$$.Execution.Name"},
            },
            retry=LAMBDA_SERVICE,
            result_selector={"run.$": "$.Payload"},
            result_path="$",
            comment="Check the input against docs/execution-input.md and plan the run",
        )
        rejected = sfn.Fail(
            self, "Input rejected", error_path="$.error.Error", cause_path="$.error.Cause"
        )
        report_rejection = on_failure(notify_rejected(self, topic_arn), rejected, "$.notify_error")
        # Only the Lambda's InvalidInputError is a rejected input; a timeout, an out-of-memory
        # or a bug is not the user's input, and says so.
        validate.add_catch(
            read_the_problems(self, then=report_rejection.next(rejected)),
            errors=["InvalidInputError"],
            result_path=ERROR_PATH,
        )
        not_started = sfn.Fail(
            self, "Run not started", error_path="$.error.Error", cause_path="$.error.Cause"
        )
        report_not_started = on_failure(
            notify_not_started(self, topic_arn), not_started, "$.notify_error"
        )
        on_failure(validate, report_not_started.next(not_started))
        check_name, name_taken, check_failed = self._run_name_is_new()
        name_taken.next(report_rejection)
        check_failed.next(report_not_started)

        run_failed = sfn.Fail(
            self, "Run failed", error_path="$.error.Error", cause_path="$.error.Cause"
        )
        failure = on_failure(notify_failure(self, topic_arn), run_failed, "$.notify_error")
        success = on_failure(notify_success(self, topic_arn, ctx.config.model_approval), run_failed)
        failure.next(run_failed)
        success.next(sfn.Succeed(self, "Run succeeded"))
        cleanup = Cleanup(self, CostTheRun(self, cost_function.function_arn))
        cleanup.then(failed=failure, succeeded=success)

        prepare = prepare_data(self, ctx)
        train = train_model(self, ctx)
        endpoints = EvaluationEndpoints(self, ctx, model_package_group=model_package_group)
        evaluation = Evaluation(self, ctx)
        gate = QualityGate(self, ctx, model_package_group=model_package_group)
        keep = KeepModel(self)
        keep.then(kept=endpoints.start, failed=cleanup.start)
        for work in [
            prepare,
            train,
            *keep.tasks,
            *endpoints.tasks,
            *evaluation.tasks,
            *gate.tasks,
        ]:
            on_failure(work, cleanup.start)
        endpoints.then(in_service=evaluation.start, failed=cleanup.start)
        evaluation.then(gate.start)
        gate.then(registered=cleanup.start, failed=cleanup.start)
        # Only an unknown prepare job lets the run go on; a look-up that fails otherwise
        # (throttling that outlasted the retries, access denied) cannot tell, so nothing starts:
        # going on could reuse an earlier run's names, whose endpoints the cleanup would delete.
        is_free = sfn.Choice(self, "Is the run name free?")
        is_free.when(not_found("$.earlier_run.Cause"), prepare)
        is_free.otherwise(check_failed)
        check_name.add_catch(is_free, errors=[sfn.Errors.ALL], result_path="$.earlier_run")
        validate.next(check_name)
        check_name.next(name_taken)
        prepare.next(train).next(keep.start)
        return validate

    def _run_name_is_new(self) -> tuple[sfn.CustomState, sfn.Pass, sfn.Pass]:
        """SageMaker keeps a job's name for good, and the cleanup deletes whatever carries the
        run's names: a second run under a used name must stop before it starts anything, or its
        cleanup would delete the endpoints of the run that has the name."""
        check = task(
            self,
            "Check that the run name is new",
            "aws-sdk:sagemaker:describeProcessingJob",
            {"ProcessingJobName.$": "$.run.names.prepare_job"},
            retry=LOOKUP,
            result_selector={"status.$": "$.ProcessingJobStatus"},
            result_path="$.earlier_run",
            comment="A run's first job is <run_name>-prepare: if it exists, the name is taken",
        )
        taken = sfn.Pass(
            self,
            "The run name is taken",
            parameters={
                "Error": "RunNameInUse",
                "Cause.$": "States.Format('run_name: {} is the name of an earlier run (its job {} "
                "exists, {}); SageMaker job names cannot be reused: set another run_name, or "
                "start the execution under another name', $.run.run_name, "
                "$.run.names.prepare_job, $.earlier_run.status)",
            },
            result_path=ERROR_PATH,
        )
        failed = sfn.Pass(
            self,
            "Record the failed run-name check",
            parameters={
                "Error": "RunNameCheckFailed",
                "Cause.$": "States.Format('Could not tell whether run_name {} is free (looking up "
                "its job {}): {}; nothing was started: start the execution again', "
                "$.run.run_name, $.run.names.prepare_job, $.earlier_run.Cause)",
            },
            result_path=ERROR_PATH,
        )
        return check, taken, failed
