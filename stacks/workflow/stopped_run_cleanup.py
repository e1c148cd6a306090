"""The stopped-run cleanup: deletes what a stopped, timed-out or failed execution left running.

Step Functions runs no state of an execution after a person stops it (``ABORTED``) or it runs
past its timeout (``TIMED_OUT``), so the training state machine's own cleanup never runs and an
evaluation or base endpoint it had deployed keeps its GPU instance. A failure no Catch catches
(``States.Runtime``, ``States.DataLimitExceeded``) ends a ``FAILED`` execution the same way, so
failed executions come here too, as a safety net: one whose own cleanup ran leaves nothing, and
ends without a message. The EventBridge rule on those status changes
(``observability.WorkflowMonitoring``) starts this state machine with ``{"execution_name",
"execution_arn", "status", "input"}`` (``input``: the execution's input as JSON text)::

    Find the run's names                 the validation Lambda, names only (no checks)
    Was the run named?  --no-->  Nothing to clean up (it was rejected in its first state)
    Look up the run's first job          <run>-prepare; not found: Nothing to clean up
    Did this execution start the run?  --no-->  Not this execution's run (an earlier run holds
                                                the name; its endpoints are left alone)
    Look up the evaluation endpoint -> (settle) -> Delete the evaluation endpoint, config, model
    Look up the base endpoint -> (settle) -> Delete the base endpoint, config, model
    Look up the champion endpoint -> (settle) -> Delete the champion endpoint, config, model
    Was everything deleted or never created?
        FAILED and nothing was there: The failed run had cleaned up (no message)
        yes: Report the cleanup -> Cleanup done
        no:  Record the cleanup failure -> Report the failed cleanup -> Cleanup failed

The run's first job, ``<run>-prepare``, carries the execution that created it in its environment
(``STARTED_BY_EXECUTION``): an execution stopped before *Check that the run name is new* turned
it away shares its run name with an earlier run, and only the execution that started the run
deletes under its names. A failed look-up deletes nothing and fails the cleanup.

The deletes are the training machine's own (``steps.cleanup.Teardown``), so both clean up the
same way under the same names. All three endpoints are always tried: how far the run got is unknown,
and "not found" is only recorded. Any other failed delete fails the execution, which raises
this machine's failed-executions alarm.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs
from stacks.workflow.logged_state_machine import logged_state_machine
from stacks.workflow.steps.cleanup import Teardown, a_delete_failed, record_cleanup_failure
from stacks.workflow.steps.common import (
    ERROR_PATH,
    LAMBDA_SERVICE,
    LOOKUP,
    not_found,
    on_failure,
    task,
)
from stacks.workflow.steps.notify import (
    notify_stopped_run_cleaned_up,
    notify_stopped_run_cleanup_failed,
)
from stacks.workflow.steps.processing import STARTED_BY
from stacks.workflow.steps.temporary_endpoints import BASE, CHAMPION, EVALUATION


class StoppedRunCleanup(Construct):
    """The standard workflow above, with logging of every event and X-Ray, like training's."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        validator: lambda_.IFunction,
        topic_arn: str,
        role: iam.IRole,
        logs: EncryptedLogs,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine = logged_state_machine(
            self,
            log_name="stopped-run-cleanup",
            comment="Delete the temporary endpoints, configs and models of a fine-tuning "
            "execution that was stopped, timed out or failed before its own cleanup "
            "(docs/workflow.md, 'Stopping a run')",
            definition=self._definition(validator, topic_arn),
            role=role,
            logs=logs,
        )

    def _definition(self, validator: lambda_.IFunction, topic_arn: str) -> sfn.IChainable:
        find_names = task(
            self,
            "Find the run's names",
            "lambda:invoke",
            {
                "FunctionName": validator.function_arn,
                "Payload": {
                    "names_for": {"input.$": "$.input", "execution_name.$": "$.execution_name"}
                },
            },
            retry=LAMBDA_SERVICE,
            result_selector={
                "run_name.$": "$.Payload.run.run_name",
                "names.$": "$.Payload.run.names",
                "evaluation.$": "$.Payload.run.evaluation",
            },
            result_path="$.run",
            comment="The names the run plan gave the stopped execution's resources",
        )
        teardowns = [Teardown(self, EVALUATION), Teardown(self, BASE), Teardown(self, CHAMPION)]
        evaluation, base, champion = teardowns
        nothing = sfn.Succeed(self, "Nothing to clean up")
        named = sfn.Choice(self, "Was the run named?")
        named.when(sfn.Condition.is_null("$.run.run_name"), nothing)
        ownership, lookup_failed = self._started_by_this_execution(evaluation.start, nothing)
        named.otherwise(ownership)
        outcome = sfn.Choice(self, "Was everything deleted or never created?")
        evaluation.then(base.start)
        base.then(champion.start)
        champion.then(outcome)

        failed = sfn.Fail(
            self, "Cleanup failed", error_path="$.error.Error", cause_path="$.error.Cause"
        )
        record_failure = record_cleanup_failure(self)
        report_failure = notify_stopped_run_cleanup_failed(self, topic_arn)
        # A lost message must not hide the failure itself: go on to fail with it.
        on_failure(report_failure, failed, "$.notify_error")
        record_failure.next(report_failure).next(failed)
        lookup_failed.next(report_failure)
        keys = [key for teardown in teardowns for key in teardown.keys]
        outcome.when(a_delete_failed(keys), record_failure)
        # A failed run normally cleaned up after itself: then there is nothing to report.
        outcome.when(
            sfn.Condition.and_(
                sfn.Condition.string_equals("$.status", "FAILED"),
                *(sfn.Condition.is_present(f"$.cleanup.{key}.Error") for key in keys),
            ),
            sfn.Succeed(self, "The failed run had cleaned up"),
        )
        outcome.otherwise(
            notify_stopped_run_cleaned_up(self, topic_arn).next(sfn.Succeed(self, "Cleanup done"))
        )
        return find_names.next(named)

    def _started_by_this_execution(
        self, clean_up: sfn.IChainable, nothing: sfn.IChainable
    ) -> tuple[sfn.IChainable, sfn.Pass]:
        """Goes on to ``clean_up`` only where the run's first job names the stopped execution;
        returns the check and the state that records a failed look-up (it has no next yet)."""
        started_by = f"$.first_job.Environment.{STARTED_BY}"
        look_up = task(
            self,
            "Look up the run's first job",
            "aws-sdk:sagemaker:describeProcessingJob",
            {"ProcessingJobName.$": "$.run.names.prepare_job"},
            retry=LOOKUP,
            result_path="$.first_job",
            comment="Every run starts with <run_name>-prepare, which names the execution "
            "that created it",
        )
        never_started = sfn.Choice(self, "Was the run never started?")
        lookup_failed = sfn.Pass(
            self,
            "Record the failed look-up",
            parameters={
                "Error": "CleanupFailed",
                "Cause.$": "States.Format('Could not look up {}, the first job of run {}, to "
                "tell whether this execution started the run; nothing was deleted: {}', "
                "$.run.names.prepare_job, $.run.run_name, $.first_job_error.Cause)",
            },
            result_path=ERROR_PATH,
        )
        look_up.add_catch(never_started, errors=[sfn.Errors.ALL], result_path="$.first_job_error")
        never_started.when(not_found("$.first_job_error.Cause"), nothing)
        never_started.otherwise(lookup_failed)
        not_this_one = sfn.Succeed(
            self,
            "Not this execution's run",
            comment="An earlier run holds the name: its endpoints are its own",
        )
        started = sfn.Choice(self, "Did this execution start the run?")
        started.when(sfn.Condition.is_not_present(started_by), not_this_one)
        started.when(sfn.Condition.string_equals_json_path(started_by, "$.execution_arn"), clean_up)
        started.otherwise(not_this_one)
        return look_up.next(started), lookup_failed
