"""Stage 7: delete the evaluation endpoint, its config and its model, on every path.

Success, every failure after validation, a failed gate: all come here. Nothing is assumed about
how far the run got: each delete is attempted, and its outcome (``{}`` or the error) is kept in
``$.cleanup``. An endpoint that is still starting (a timed-out deployment) cannot be deleted
yet, so the cleanup waits for it to settle first. A delete that fails on a successful run fails
the run, so a forgotten endpoint raises the failed-executions alarm instead of going unnoticed.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, IDEMPOTENT, on_failure, task
from stacks.workflow.steps.endpoint_poll import starting

SETTLE_WAIT_S = 60
DELETIONS = (
    ("Delete the evaluation endpoint", "deleteEndpoint", "EndpointName", "endpoint"),
    (
        "Delete the evaluation endpoint config",
        "deleteEndpointConfig",
        "EndpointConfigName",
        "endpoint_config",
    ),
    ("Delete the evaluation model", "deleteModel", "ModelName", "model"),
)


class Cleanup:
    """Look up the endpoint, let it settle, delete all three, then branch on the outcome."""

    def __init__(self, scope: Construct) -> None:
        self.look_up = task(
            scope,
            "Look up the evaluation endpoint",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": "$.run.names.endpoint"},
            retry=IDEMPOTENT,
            result_selector={"status.$": "$.EndpointStatus"},
            result_path="$.cleanup.lookup",
        )
        self.settling = sfn.Choice(scope, "Is the endpoint still starting?")
        self.wait = sfn.Wait(
            scope,
            "Wait for the endpoint to settle",
            time=sfn.WaitTime.duration(Duration.seconds(SETTLE_WAIT_S)),
        )
        self.deletes = [
            task(
                scope,
                name,
                f"aws-sdk:sagemaker:{action}",
                {f"{parameter}.$": f"$.run.names.{key}"},
                retry=IDEMPOTENT,
                result_path=f"$.cleanup.{key}",
            )
            for name, action, parameter, key in DELETIONS
        ]
        # Any error here is recorded and the next delete still runs: clean up as much as possible.
        keys = [key for *_, key in DELETIONS]
        for delete, key, following in zip(self.deletes, keys, self.deletes[1:], strict=False):
            on_failure(delete, following, result_path=f"$.cleanup.{key}")
            delete.next(following)
        # No endpoint to look up (the run failed before creating one): try the deletes anyway.
        on_failure(self.look_up, self.deletes[0], result_path="$.cleanup.lookup")
        self.look_up.next(self.settling)
        self.settling.when(starting("$.cleanup.lookup.status"), self.wait).otherwise(
            self.deletes[0]
        )
        self.wait.next(self.look_up)
        self.outcome = sfn.Choice(scope, "Did the run fail?")
        self.record_failure = sfn.Pass(
            scope,
            "Record the cleanup failure",
            parameters={
                "Error": "CleanupFailed",
                "Cause.$": "States.Format('Could not delete every evaluation resource of run {}: "
                "{}', $.run.run_name, States.JsonToString($.cleanup))",
            },
            result_path=ERROR_PATH,
        )
        on_failure(self.deletes[-1], self.outcome, result_path=f"$.cleanup.{keys[-1]}")
        self.deletes[-1].next(self.outcome)
        self.start: sfn.IChainable = self.look_up

    def then(self, failed: sfn.IChainable, succeeded: sfn.IChainable) -> None:
        """After cleaning up: ``failed`` when the run (or a delete on success) failed."""
        delete_failed = sfn.Condition.or_(
            *(sfn.Condition.is_present(f"$.cleanup.{key}.Error") for *_, key in DELETIONS)
        )
        self.outcome.when(sfn.Condition.is_present(ERROR_PATH), failed)
        self.outcome.when(delete_failed, self.record_failure)
        self.outcome.otherwise(succeeded)
        self.record_failure.next(failed)
