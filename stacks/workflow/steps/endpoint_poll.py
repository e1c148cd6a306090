"""Waiting for a temporary endpoint: DescribeEndpoint on a backoff schedule, with a timeout.

The schedule (``evaluation.endpoint_poll_seconds``, 30 s by default, doubling to 5 min, summing
to at least ``evaluation.endpoint_timeout_minutes``) is computed at synth time and carried in the
state data, so each wait is a ``States.ArrayGetItem`` away and the timeout is "the schedule ran
out". InService goes on; Failed, or still starting when the schedule runs out, records
``$.error`` for the cleanup. The same states, named for each, wait for the evaluation endpoint
and for the base endpoint.

Only the status is kept from each poll's DescribeEndpoint: the rest holds timestamps and
changes on every poll. Once the endpoint is Failed, its whole description is kept once, at
``$.<key_prefix>endpoint_failure``, so that its optional FailureReason can be looked for.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, IDEMPOTENT, task
from stacks.workflow.steps.temporary_endpoints import TemporaryEndpoint

STARTING_STATUSES = ("Creating", "Updating", "SystemUpdating")


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
    """Start waiting -> Wait -> Check the endpoint status -> Is the endpoint in service?

    Its states say "the <label> endpoint"; the endpoint's name comes from the run plan, and its
    status and schedule are kept at ``$.<key_prefix>endpoint`` and ``$.<key_prefix>endpoint_wait``.
    """

    def __init__(
        self, scope: Construct, endpoint: TemporaryEndpoint, timeout_s: int, first_s: int = 30
    ) -> None:
        self.endpoint = endpoint
        self.the_endpoint = f"the {endpoint.label} endpoint"
        self.name = endpoint.name("endpoint")
        self.status = f"$.{endpoint.key('endpoint')}.status"
        wait = f"$.{endpoint.key('endpoint_wait')}"
        self.schedule = poll_schedule(timeout_s, first_s)
        self.start_waiting = sfn.Pass(
            scope,
            f"Start waiting for {self.the_endpoint}",
            parameters={"attempt": 0, "seconds": self.schedule[0], "schedule": self.schedule},
            result_path=wait,
        )
        self.wait = sfn.Wait(
            scope,
            f"Wait for {self.the_endpoint}",
            time=sfn.WaitTime.seconds_path(f"{wait}.seconds"),
        )
        self.check = task(
            scope,
            f"Check {self.the_endpoint} status",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": self.name},
            retry=IDEMPOTENT,
            result_selector={"status.$": "$.EndpointStatus"},
            result_path=f"$.{endpoint.key('endpoint')}",
        )
        next_attempt = f"States.MathAdd({wait}.attempt, 1)"
        self.wait_longer = sfn.Pass(
            scope,
            f"Wait longer for {self.the_endpoint}",
            parameters={
                "attempt.$": next_attempt,
                "seconds.$": f"States.ArrayGetItem({wait}.schedule, {next_attempt})",
                "schedule.$": f"{wait}.schedule",
            },
            result_path=wait,
        )
        self._records(scope)
        out_of_time = sfn.Condition.number_greater_than_equals(
            f"{wait}.attempt", len(self.schedule) - 1
        )
        self.in_service = sfn.Choice(scope, f"Is {self.the_endpoint} in service?")
        self.in_service.when(
            sfn.Condition.and_(starting(self.status), out_of_time), self.record_timeout
        )
        self.in_service.when(starting(self.status), self.wait_longer)
        self.start_waiting.next(self.wait).next(self.check).next(self.in_service)
        self.wait_longer.next(self.wait)
        self.start: sfn.IChainable = self.start_waiting
        self.tasks = [self.check, self.read_failure]

    def _records(self, scope: Construct) -> None:
        """The states that write ``$.error`` when the endpoint will not be InService."""
        label, errors = self.endpoint.label, self.endpoint.error_prefix
        # FailureReason is read only once Failed, and even then SageMaker may leave it out: a
        # path that is missing at run time raises States.Runtime, which no Catch catches, so
        # the execution would stop before its cleanup. The description is kept whole and its
        # FailureReason looked for.
        described = f"$.{self.endpoint.key('endpoint_failure')}"
        self.read_failure = task(
            scope,
            f"Read why {self.the_endpoint} failed",
            "aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName.$": self.name},
            retry=IDEMPOTENT,
            result_path=described,
        )
        record_reason = sfn.Pass(
            scope,
            f"Record why {self.the_endpoint} failed",
            parameters={
                "Error": f"{errors}Failed",
                "Cause.$": f"States.Format('The {label} endpoint {{}} is Failed: {{}}', "
                f"{self.name}, {described}.FailureReason)",
            },
            result_path=ERROR_PATH,
        )
        record_no_reason = sfn.Pass(
            scope,
            f"Record that {self.the_endpoint} failed",
            parameters={
                "Error": f"{errors}Failed",
                "Cause.$": f"States.Format('The {label} endpoint {{}} is Failed; SageMaker "
                f"gave no reason (see its CloudWatch logs)', {self.name})",
            },
            result_path=ERROR_PATH,
        )
        said_why = sfn.Choice(scope, f"Did SageMaker say why {self.the_endpoint} failed?")
        said_why.when(sfn.Condition.is_present(f"{described}.FailureReason"), record_reason)
        said_why.otherwise(record_no_reason)
        self.read_failure.next(said_why)
        self.failure_records = [record_reason, record_no_reason]
        self.record_unexpected = sfn.Pass(
            scope,
            f"Record the unexpected {label} endpoint status",
            parameters={
                "Error": f"{errors}Unavailable",
                "Cause.$": f"States.Format('The {label} endpoint {{}} is {{}}', "
                f"{self.name}, {self.status})",
            },
            result_path=ERROR_PATH,
        )
        self.record_timeout = sfn.Pass(
            scope,
            f"Record the {label} endpoint timeout",
            parameters={
                "Error": f"{errors}Timeout",
                "Cause.$": f"States.Format('The {label} endpoint {{}} was still {{}} after "
                f"{sum(self.schedule)} seconds', {self.name}, {self.status})",
            },
            result_path=ERROR_PATH,
        )

    def then(self, in_service: sfn.IChainable, failed: sfn.IChainable) -> None:
        """Goes on to ``in_service`` once InService; else records why, then goes to ``failed``."""
        status = self.status
        self.in_service.when(sfn.Condition.string_equals(status, "InService"), in_service)
        self.in_service.when(sfn.Condition.string_equals(status, "Failed"), self.read_failure)
        self.in_service.otherwise(self.record_unexpected)
        for record in (*self.failure_records, self.record_unexpected, self.record_timeout):
            record.next(failed)
