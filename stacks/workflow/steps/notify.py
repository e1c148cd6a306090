"""Stage 8: tell people how the run ended (SNS; the topic's subscribers get an email each).

Each message carries ``status`` and ``run_name`` attributes, so a subscriber can filter. The
subjects stay under SNS's 100 characters (run names are at most 54). A run that was stopped or
timed out cannot notify by itself: the stopped-run cleanup (``stopped_run_cleanup.py``) reports
it (and a failed run that skipped its own cleanup), with ``status`` ``ABORTED``, ``TIMED_OUT``
or ``FAILED`` and a ``cleanup`` attribute (``SUCCEEDED`` or ``FAILED``).
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import IDEMPOTENT, task


def _attributes(status: str, run_name_path: str | None) -> dict:
    attributes: dict = {"status": {"DataType": "String", "StringValue": status}}
    if run_name_path is not None:
        attributes["run_name"] = {"DataType": "String", "StringValue.$": run_name_path}
    return attributes


def _publish(scope: Construct, name: str, topic_arn: str, message: dict) -> sfn.CustomState:
    return task(
        scope,
        name,
        "sns:publish",
        {"TopicArn": topic_arn, **message},
        retry=IDEMPOTENT,
        result_path="$.notification",
    )


def notify_rejected(scope: Construct, topic_arn: str) -> sfn.CustomState:
    """The input failed validation: there is no run, only the execution."""
    return _publish(
        scope,
        "Report the rejected input",
        topic_arn,
        {
            "Subject": "Fine-tuning execution rejected: the input is not valid",
            "Message.$": "States.Format('Execution {} did not start a run: its input is not "
            "valid (nothing was launched).\n\n{}\n\nThe input contract: docs/execution-input.md', "
            "$$.Execution.Id, $.error.Cause)",
            "MessageAttributes": _attributes("REJECTED", None),
        },
    )


def notify_not_started(scope: Construct, topic_arn: str) -> sfn.CustomState:
    """Nothing was launched, and not because of the input: the validation Lambda failed (a
    timeout, out of memory, a bug) or the run-name check could not tell. ``$.error`` says why."""
    return _publish(
        scope,
        "Report the run that did not start",
        topic_arn,
        {
            "Subject.$": "States.Format('Fine-tuning execution did not start: {}', $.error.Error)",
            "Message.$": "States.Format('Execution {} did not start a run, and not because of "
            "its input: {}: {}\n\nNothing was launched; start it again.', $$.Execution.Id, "
            "$.error.Error, $.error.Cause)",
            "MessageAttributes": _attributes("NOT_STARTED", None),
        },
    )


def notify_failure(scope: Construct, topic_arn: str) -> sfn.CustomState:
    """The run failed (or could not clean up); ``$.error`` says why, ``$.cost`` what it cost."""
    return _publish(
        scope,
        "Notify about the failure",
        topic_arn,
        {
            "Subject.$": "States.Format('Fine-tuning run {} failed', $.run.run_name)",
            "Message.$": "States.Format('Run {} failed: {}\n\n{}\n\nExecution: {}\nRun folder: {}"
            "\nCleanup of the temporary endpoints, configs and models: {}\nCost: {}', "
            "$.run.run_name, $.error.Error, $.error.Cause, $$.Execution.Id, $.run.uris.run, "
            "States.JsonToString($.cleanup), $.cost.summary)",
            "MessageAttributes": _attributes("FAILED", "$.run.run_name"),
        },
    )


def notify_success(scope: Construct, topic_arn: str, approval: str) -> sfn.CustomState:
    """The model passed the gate and was registered; ``$.cost`` says what the run cost."""
    return _publish(
        scope,
        "Notify about the success",
        topic_arn,
        {
            "Subject.$": "States.Format('Fine-tuning run {} registered a model', $.run.run_name)",
            "Message.$": "States.Format('Run {} passed the quality gate: {} = {} (threshold {})."
            f"\n\nModel package: {{}} ({approval})\nReport: {{}}\nExecution: {{}}\nCost: {{}}', "
            "$.run.run_name, $.run.evaluation.metric, $.evaluation.report.gate.value, "
            "$.run.evaluation.threshold, $.registered.model_package_arn, $.run.uris.report, "
            "$$.Execution.Id, $.cost.summary)",
            "MessageAttributes": _attributes("SUCCEEDED", "$.run.run_name"),
        },
    )


def _stopped_run_attributes(cleanup: str) -> dict:
    return {
        "status": {"DataType": "String", "StringValue.$": "$.status"},
        "run_name": {"DataType": "String", "StringValue.$": "$.run.run_name"},
        "cleanup": {"DataType": "String", "StringValue": cleanup},
    }


# The start of both messages about a stopped run: execution name, run name, status.
_STOPPED = (
    "Fine-tuning execution {} (run {}) ended {} without its own cleanup: Step Functions runs "
    "no state of an execution after a stop or a timeout, and a failure no Catch catches ends "
    "it at once."
)


def notify_stopped_run_cleaned_up(scope: Construct, topic_arn: str) -> sfn.CustomState:
    """A stopped run's temporary endpoints are deleted, or were never created."""
    return _publish(
        scope,
        "Report the cleanup",
        topic_arn,
        {
            "Subject.$": "States.Format('Run {} {}: nothing left running', $.run.run_name, "
            "$.status)",
            "Message.$": f"States.Format('{_STOPPED} This cleanup deleted what it had left of "
            "the endpoints, endpoint configs and models named {} (evaluation), {} (base "
            "model) and {} (champion); an error that says Could not find means the run had "
            "not created that one."
            "\n\nOutcome: {}\n\nCleanup execution: {}', $.execution_name, $.run.run_name, "
            "$.status, $.run.names.endpoint, $.run.names.base_endpoint, "
            "$.run.names.champion_endpoint, "
            "States.JsonToString($.cleanup), $$.Execution.Id)",
            "MessageAttributes": _stopped_run_attributes("SUCCEEDED"),
        },
    )


def notify_stopped_run_cleanup_failed(scope: Construct, topic_arn: str) -> sfn.CustomState:
    """Something a stopped run left could not be deleted; ``$.error`` says what."""
    return _publish(
        scope,
        "Report the failed cleanup",
        topic_arn,
        {
            "Subject.$": "States.Format('Run {} {}: cleanup FAILED', $.run.run_name, $.status)",
            "Message.$": f"States.Format('{_STOPPED} This cleanup could not delete everything "
            "the run may have left running: {}\n\nDelete the rest by hand (docs/workflow.md, "
            "Stopping a run).\n\nCleanup execution: {}', $.execution_name, $.run.run_name, "
            "$.status, $.error.Cause, $$.Execution.Id)",
            "MessageAttributes": _stopped_run_attributes("FAILED"),
        },
    )
