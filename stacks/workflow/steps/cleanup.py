"""Stage 7: delete the temporary endpoints, their configs and their models, on every path.

Success, every failure after validation, a failed gate: all come here. Nothing is assumed about
how far the run got: each delete is attempted, and its outcome (``{}`` or the error) is kept in
``$.cleanup``. An endpoint that is still starting (a timed-out deployment, or the base endpoint
when the evaluation endpoint failed) cannot be deleted yet, so the cleanup waits for it to
settle first. A run that compares with the base model deletes the base endpoint, config and model
the same way, whether or not it got as far as creating them; a run that found a champion deletes
the champion's too. A delete that fails on a successful
run fails the run, so a forgotten endpoint raises the failed-executions alarm instead of going
unnoticed::

    Look up the evaluation endpoint -> (settle) -> Delete the evaluation endpoint, config, model
    Clean up the base endpoint too? --yes--> the same for the base endpoint
    Clean up the champion endpoint too? --yes--> the same for the champion endpoint
    (Cost the run: steps/cost.py) -> Did the run fail?
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import (
    ERROR_PATH,
    IDEMPOTENT,
    not_found,
    on_failure,
    task,
)
from stacks.workflow.steps.cost import CostTheRun
from stacks.workflow.steps.endpoint_poll import starting
from stacks.workflow.steps.temporary_endpoints import (
    BASE,
    CHAMPION,
    EVALUATION,
    TemporaryEndpoint,
    champion_found,
    compare_with_base,
)

SETTLE_WAIT_S = 60
# Recorded for an endpoint found Deleting: nothing to do, and no failure.
ALREADY_DELETING = "AlreadyDeleting"
# (what, SageMaker action, its name parameter, the resource's key in the run plan)
DELETIONS = (
    ("endpoint", "deleteEndpoint", "EndpointName", "endpoint"),
    ("endpoint config", "deleteEndpointConfig", "EndpointConfigName", "endpoint_config"),
    ("model", "deleteModel", "ModelName", "model"),
)


class Teardown:
    """Look up one endpoint, let it settle, then delete it, its config and its model."""

    def __init__(self, scope: Construct, endpoint: TemporaryEndpoint) -> None:
        the_endpoint = f"the {endpoint.label} endpoint"
        lookup = f"$.cleanup.{endpoint.key('lookup')}"
        self.keys = [endpoint.key(key) for *_, key in DELETIONS]
        self.look_up = task(
            scope,
            f"Look up {the_endpoint}",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": endpoint.name("endpoint")},
            retry=IDEMPOTENT,
            # CreationTime: the cost step prices the endpoint from it to its deletion.
            result_selector={"status.$": "$.EndpointStatus", "created.$": "$.CreationTime"},
            result_path=lookup,
        )
        settling = sfn.Choice(scope, f"Is {the_endpoint} still starting?")
        wait = sfn.Wait(
            scope,
            f"Wait for {the_endpoint} to settle",
            time=sfn.WaitTime.duration(Duration.seconds(SETTLE_WAIT_S)),
        )
        self.deletes = [
            task(
                scope,
                f"Delete the {endpoint.label} {what}",
                f"aws-sdk:sagemaker:{action}",
                {f"{parameter}.$": endpoint.name(key)},
                retry=IDEMPOTENT,
                result_path=f"$.cleanup.{endpoint.key(key)}",
            )
            for what, action, parameter, key in DELETIONS
        ]
        # Any error here is recorded and the next delete still runs: clean up as much as possible.
        for delete, key, following in zip(self.deletes, self.keys, self.deletes[1:], strict=False):
            on_failure(delete, following, result_path=f"$.cleanup.{key}")
            delete.next(following)
        # An endpoint already Deleting (its run's own cleanup asked, just before this one) is
        # gone as far as this cleanup goes: recorded as such, and its config and model go on.
        deleting = sfn.Pass(
            scope,
            f"Note that {the_endpoint} is being deleted",
            parameters={
                "Error": ALREADY_DELETING,
                "Cause.$": "States.Format('{} is already Deleting', "
                f"{endpoint.name('endpoint')})",
            },
            result_path=f"$.cleanup.{self.keys[0]}",
        )
        deleting.next(self.deletes[1])
        # No endpoint to look up (the run failed before creating one): try the deletes anyway.
        on_failure(self.look_up, self.deletes[0], result_path=lookup)
        self.look_up.next(settling)
        settling.when(starting(f"{lookup}.status"), wait)
        settling.when(sfn.Condition.string_equals(f"{lookup}.status", "Deleting"), deleting)
        settling.otherwise(self.deletes[0])
        wait.next(self.look_up)
        self.start: sfn.IChainable = self.look_up

    def then(self, state: sfn.IChainable) -> None:
        """After the last delete, whatever its outcome, go on to ``state``."""
        on_failure(self.deletes[-1], state, result_path=f"$.cleanup.{self.keys[-1]}")
        self.deletes[-1].next(state)


def record_cleanup_failure(scope: Construct) -> sfn.Pass:
    """``$.error`` = CleanupFailed, naming the run and every delete's outcome (``$.cleanup``)."""
    return sfn.Pass(
        scope,
        "Record the cleanup failure",
        parameters={
            "Error": "CleanupFailed",
            "Cause.$": "States.Format('Could not delete every endpoint, endpoint config and "
            "model of run {}: {}', $.run.run_name, States.JsonToString($.cleanup))",
        },
        result_path=ERROR_PATH,
    )


def a_delete_failed(keys: list[str]) -> sfn.Condition:
    """Some delete under ``$.cleanup.<key>`` failed for another reason than "not found" (or
    an endpoint found already Deleting)."""
    return sfn.Condition.or_(
        *(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"$.cleanup.{key}.Error"),
                sfn.Condition.not_(not_found(f"$.cleanup.{key}.Cause")),
                sfn.Condition.not_(
                    sfn.Condition.string_equals(f"$.cleanup.{key}.Error", ALREADY_DELETING)
                ),
            )
            for key in keys
        )
    )


class Cleanup:
    """Tear down the evaluation endpoint, then the base and champion endpoints if any; branch on
    the outcome.

    ``before_outcome`` (the cost step) runs after the last delete, before the branch.
    """

    def __init__(self, scope: Construct, before_outcome: CostTheRun | None = None) -> None:
        self.teardowns = [
            Teardown(scope, EVALUATION),
            Teardown(scope, BASE),
            Teardown(scope, CHAMPION),
        ]
        evaluation, base, champion = self.teardowns
        base_too = sfn.Choice(scope, "Clean up the base endpoint too?")
        # Only a champion that was found has names to delete: without one, a "not found" would
        # fail a successful run.
        champion_too = sfn.Choice(scope, "Clean up the champion endpoint too?")
        self.outcome = sfn.Choice(scope, "Did the run fail?")
        after: sfn.IChainable = self.outcome
        if before_outcome is not None:
            before_outcome.then(self.outcome)
            after = before_outcome.start
        evaluation.then(base_too)
        base_too.when(compare_with_base(), base.start).otherwise(champion_too)
        base.then(champion_too)
        champion_too.when(champion_found(), champion.start).otherwise(after)
        champion.then(after)
        self.record_failure = record_cleanup_failure(scope)
        # A failed run that also left something behind says both: the run's cause stays first.
        self.record_failure_too = sfn.Pass(
            scope,
            "Record the cleanup failure after the run failed",
            parameters={
                "Error": "CleanupFailed",
                "Cause.$": "States.Format('The run failed ({}: {}), and its cleanup could not "
                "delete every endpoint, endpoint config and model of run {}: {}', $.error.Error, "
                "$.error.Cause, $.run.run_name, States.JsonToString($.cleanup))",
            },
            result_path=ERROR_PATH,
        )
        self.start: sfn.IChainable = evaluation.start

    def then(self, failed: sfn.IChainable, succeeded: sfn.IChainable) -> None:
        """After cleaning up: ``failed`` when the run (or a delete on success) failed."""
        keys = [key for teardown in self.teardowns for key in teardown.keys]
        delete_failed = sfn.Condition.or_(
            *(sfn.Condition.is_present(f"$.cleanup.{key}.Error") for key in keys)
        )
        run_failed = sfn.Condition.is_present(ERROR_PATH)
        # On a failed run "not found" is expected (it failed before creating that one).
        self.outcome.when(
            sfn.Condition.and_(run_failed, a_delete_failed(keys)), self.record_failure_too
        )
        self.outcome.when(run_failed, failed)
        self.outcome.when(delete_failed, self.record_failure)
        self.outcome.otherwise(succeeded)
        self.record_failure.next(failed)
        self.record_failure_too.next(failed)
