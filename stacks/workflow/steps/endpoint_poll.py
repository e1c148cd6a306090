"""Waiting for the evaluation endpoint: DescribeEndpoint on a backoff schedule, with a timeout.

The schedule (30 s doubling to 5 min, summing to at least ``evaluation.endpoint_timeout_minutes``)
is computed at synth time and carried in the state data, so each wait is a ``States.ArrayGetItem``
away and the timeout is "the schedule ran out". InService goes on; Failed, or still starting when
the schedule runs out, records ``$.error`` for the cleanup.

Only the status is kept from each DescribeEndpoint: the rest holds timestamps and changes on
every poll.
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
            result_selector={"status.$": "$.EndpointStatus"},
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
        # FailureReason exists only on a Failed endpoint, so it is read only once Failed (a
        # missing path would stop the execution before its cleanup).
        self.record_failure = task(
            scope,
            "Read why the endpoint failed",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": "$.run.names.endpoint"},
            retry=IDEMPOTENT,
            result_selector={
                "Error": "EvaluationEndpointFailed",
                "Cause.$": "States.Format('The evaluation endpoint {} is {}: {}', $.EndpointName, "
                "$.EndpointStatus, $.FailureReason)",
            },
            result_path=ERROR_PATH,
        )
        self.record_unexpected = sfn.Pass(
            scope,
            "Record the unexpected endpoint status",
            parameters={
                "Error": "EvaluationEndpointUnavailable",
                "Cause.$": f"States.Format('The evaluation endpoint {{}} is {{}}', "
                f"$.run.names.endpoint, {STATUS})",
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
        self.in_service.when(sfn.Condition.string_equals(STATUS, "Failed"), self.record_failure)
        self.in_service.otherwise(self.record_unexpected)
        for record in (self.record_failure, self.record_unexpected, self.record_timeout):
            record.next(failed)
