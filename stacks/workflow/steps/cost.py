"""After the cleanup, on every path: what the run cost (``functions/run_cost``).

One Lambda task between the last delete and the outcome, so success and failure both reach it
once, after every temporary endpoint is gone. Its result goes to ``$.cost`` (``summary``,
``total_usd``, ``stages``); any error, a timeout included, is caught and recorded as
``$.cost.summary`` = "cost unavailable: ...", so the bill never changes how the run ends::

    (cleanup) -> Cost the run -> Did the run fail?
                   `--(error)--> Note that the cost is unavailable -^
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import LAMBDA_SERVICE, on_failure, task

COST_PATH = "$.cost"


class CostTheRun:
    """The task and its fallback; ``then`` joins both to the next state."""

    def __init__(self, scope: Construct, function_arn: str) -> None:
        self.task = task(
            scope,
            "Cost the run",
            "lambda:invoke",
            {
                "FunctionName": function_arn,
                # The whole state: $.run.names and $.cleanup exist on every path that gets here.
                "Payload": {"state.$": "$", "now.$": "$$.State.EnteredTime"},
            },
            retry=LAMBDA_SERVICE,
            result_selector={
                "summary.$": "$.Payload.summary",
                "total_usd.$": "$.Payload.total_usd",
                "kind.$": "$.Payload.kind",
                "stages.$": "$.Payload.stages",
            },
            result_path=COST_PATH,
            comment="Price what the run ran; write cost.json and add it to the report",
        )
        self.unavailable = sfn.Pass(
            scope,
            "Note that the cost is unavailable",
            parameters={
                "summary.$": "States.Format('cost unavailable: {}: {}', $.cost.Error, $.cost.Cause)"
            },
            result_path=COST_PATH,
        )
        on_failure(self.task, self.unavailable, result_path=COST_PATH)
        self.start: sfn.IChainable = self.task

    def then(self, state: sfn.IChainable) -> None:
        """Both the cost and its absence go on to ``state``."""
        self.task.next(state)
        self.unavailable.next(state)
