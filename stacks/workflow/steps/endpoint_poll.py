"""Waiting for the evaluation endpoint: DescribeEndpoint on a backoff schedule, with a timeout.

The schedule (30 s doubling to 5 min, summing to at least ``evaluation.endpoint_timeout_minutes``)
is computed at synth time and carried in the state data, so each wait is a ``States.ArrayGetItem``
away and the timeout is "the schedule ran out". InService goes on; Failed, or still starting when
the schedule runs out, records ``$.error`` for the cleanup.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, IDEMPOTENT, task

STARTING_STATUSES = ("Creating", "Updating", "SystemUpdating")
WAIT = "$.endpoint_wait"
STATUS = "$.endpoint.status"


def poll_schedule(timeout_s: int, first_s: int = 30, longest_s: int = 300) -> list[int]:
    """Waits between DescribeEndpoint calls: doubling, capped, summing to at least the timeout."""
    waits: list[int] = []
    wait = first_s
    while sum(waits) < timeout_s:
        waits.append(min(wait, longest_s))
        wait *= 2
    return waits


def starting(status_path: str) -> sfn.Condition:
    """The endpoint is still being created or updated."""
    return sfn.Condition.or_(
        *(sfn.Condition.string_equals(status_path, s) for s in STARTING_STATUSES)
    )


class EndpointPoll:
    """Start waiting -> Wait -> Check the endpoint status -> Is the endpoint in service?"""

    def __init__(self, scope: Construct, timeout_s: int) -> None:
        self.schedule = poll_schedule(timeout_s)
        self.start_waiting = sfn.Pass(
            scope,
            "Start waiting for the endpoint",
            parameters={"attempt": 0, "seconds": self.schedule[0], "schedule": self.schedule},
            result_path=WAIT,
        )
        self.wait = sfn.Wait(
            scope, "Wait for the endpoint", time=sfn.WaitTime.seconds_path(f"{WAIT}.seconds")
        )
        self.check = task(
            scope,
            "Check the endpoint status",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": "$.run.names.endpoint"},
            retry=IDEMPOTENT,
            # The whole description goes into a failure's cause (it has the FailureReason).
            result_selector={
                "status.$": "$.EndpointStatus",
                "description.$": "States.JsonToString($)",
            },
            result_path="$.endpoint",
        )
        next_attempt = f"States.MathAdd({WAIT}.attempt, 1)"
        self.wait_longer = sfn.Pass(
            scope,
            "Wait longer for the endpoint",
            parameters={
                "attempt.$": next_attempt,
                "seconds.$": f"States.ArrayGetItem({WAIT}.schedule, {next_attempt})",
                "schedule.$": f"{WAIT}.schedule",
            },
            result_path=WAIT,
        )
        self.record_failure = sfn.Pass(
            scope,
            "Record the endpoint failure",
            parameters={
                "Error": "EvaluationEndpointFailed",
                "Cause.$": "States.Format('The evaluation endpoint {} is {}. DescribeEndpoint: "
                f"{{}}', $.run.names.endpoint, {STATUS}, $.endpoint.description)",
            },
            result_path=ERROR_PATH,
        )
        self.record_timeout = sfn.Pass(
            scope,
            "Record the endpoint timeout",
            parameters={
                "Error": "EvaluationEndpointTimeout",
                "Cause.$": "States.Format('The evaluation endpoint {} was still {} after "
                f"{sum(self.schedule)} seconds', $.run.names.endpoint, {STATUS})",
            },
            result_path=ERROR_PATH,
        )
        out_of_time = sfn.Condition.number_greater_than_equals(
            f"{WAIT}.attempt", len(self.schedule) - 1
        )
        self.in_service = sfn.Choice(scope, "Is the endpoint in service?")
        self.in_service.when(sfn.Condition.and_(starting(STATUS), out_of_time), self.record_timeout)
        self.in_service.when(starting(STATUS), self.wait_longer)
        self.start_waiting.next(self.wait).next(self.check).next(self.in_service)
        self.wait_longer.next(self.wait)
        self.start: sfn.IChainable = self.start_waiting

    def then(self, in_service: sfn.IChainable, failed: sfn.IChainable) -> None:
        """Goes on to ``in_service`` once InService; else records why, then goes to ``failed``."""
        self.in_service.when(sfn.Condition.string_equals(STATUS, "InService"), in_service)
        self.in_service.otherwise(self.record_failure)
        self.record_failure.next(failed)
        self.record_timeout.next(failed)
