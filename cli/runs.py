"""Start an execution, follow it with progress, list runs and fetch a run's report."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cli.target import Target
from contracts.workflow import sanitise_run_name

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# Job log lines worth showing while a run is followed: training steps, data and evaluation counts
# ("[<endpoint>] 40/100 answered (0 failed, 1.25 samples/s)", per endpoint).
_PROGRESS = re.compile(
    r"(loss|step|epoch|records|samples|answered|exact_match|error|Error|wrote|split)"
)


def start(target: Target, execution_input: dict[str, Any], name: str | None = None) -> str:
    """Starts one execution of the fine-tuning state machine; returns its ARN."""
    request = {"stateMachineArn": target.state_machine_arn(), "input": json.dumps(execution_input)}
    if name:
        request["name"] = name
    return target.client("stepfunctions").start_execution(**request)["executionArn"]


def resolve(target: Target, execution: str) -> str:
    """An execution ARN from an ARN or an execution name."""
    if execution.startswith("arn:"):
        return execution
    machine = target.state_machine_arn()
    return machine.replace(":stateMachine:", ":execution:") + f":{execution}"


@dataclass
class Timeline:
    """What an execution did: states in order with their durations, and how it ended."""

    status: str = "RUNNING"
    states: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None
    # Lines said once only: a look-up's "not found", which its retries would repeat.
    said: set[str] = field(default_factory=set, repr=False, compare=False)

    def durations(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for state, seconds in self.states:
            totals[state] = totals.get(state, 0.0) + seconds
        return totals


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def follow(
    target: Target,
    execution_arn: str,
    *,
    say: Callable[[str], None] = print,
    poll_s: float = 2.0,
    timeout_s: float | None = None,
) -> Timeline:
    """Prints state transitions and job progress until the execution ends."""
    sfn, logs = target.client("stepfunctions"), target.client("logs")
    seen, timeline, started = 0, Timeline(), time.monotonic()
    entered: dict[str, datetime] = {}
    jobs: dict[str, dict[str, Any]] = {}  # log group/stream prefix -> tail position
    while True:
        events = _history(sfn, execution_arn)
        for event in events[seen:]:
            _on_event(event, entered, timeline, jobs, say)
        seen = len(events)
        for job in jobs.values():
            _tail(logs, job, say)
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] in TERMINAL:
            for event in _history(sfn, execution_arn)[seen:]:
                _on_event(event, entered, timeline, jobs, say)
            timeline.status = description["status"]
            timeline.error = description.get("error")
            timeline.cause = description.get("cause")
            if description.get("output"):
                timeline.output = json.loads(description["output"])
            return timeline
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{execution_arn} still running after {timeout_s:.0f} s")
        time.sleep(poll_s)


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [event for page in pages for event in page["events"]]


def _on_event(event: dict, entered: dict, timeline: Timeline, jobs: dict, say: Callable) -> None:
    kind, stamp = event["type"], event["timestamp"]
    if kind.endswith("StateEntered"):
        name = event["stateEnteredEventDetails"]["name"]
        entered[name] = stamp
        say(f"  → {name}")
    elif kind.endswith("StateExited"):
        name = event["stateExitedEventDetails"]["name"]
        if name in entered:
            timeline.states.append((name, _seconds(entered.pop(name), stamp)))
    elif kind == "TaskScheduled":
        details = event["taskScheduledEventDetails"]
        # Only the jobs this execution creates: a lookup (the run-name check describes
        # <run>-prepare) names another run's job when the name is taken.
        if not details.get("resource", "").startswith("create"):
            return
        parameters = json.loads(details.get("parameters") or "{}")
        for key, group in (
            ("TrainingJobName", "TrainingJobs"),
            ("ProcessingJobName", "ProcessingJobs"),
        ):
            if key in parameters:
                jobs[parameters[key]] = {
                    "name": parameters[key],
                    "group": f"/aws/sagemaker/{group}",
                    "since": None,
                    "seen": set(),
                }
    elif kind.endswith("Failed") and kind != "ExecutionFailed":  # the outcome line says that
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if details.get("error"):
            cause = str(details.get("cause", ""))
            line = failure_line(details["error"], cause, details.get("resource", ""))
            if line.startswith(_NOT_FOUND):
                # The same answer to each retry, but for its request id.
                answer = _REQUEST_ID.sub("", f"{details.get('resource')} {line}")
                if answer in timeline.said:
                    return
                timeline.said.add(answer)
            say(line)


_NOT_FOUND = "    · not found: "
_REQUEST_ID = re.compile(r"Request ID: [\w-]+", re.IGNORECASE)


def failure_line(error: str, cause: str, resource: str = "") -> str:
    """One line for a failed task. "Could not find" from a look-up or a delete is an answer the
    workflow expects (the run-name check, the cleanup of what a run never created), not a
    failure; a job's cause is its whole description, whose FailureReason is what went wrong,
    and a Lambda function's is its error payload, whose errorMessage is."""
    if resource.startswith(("describe", "delete")) and "Could not find" in cause:
        return f"{_NOT_FOUND}{cause[:160]}"
    try:
        described = json.loads(cause)
    except ValueError:
        described = None
    for reason in ("FailureReason", "errorMessage"):
        if isinstance(described, dict) and isinstance(described.get(reason), str):
            cause = described[reason]
    if len(cause) > 500:
        cause = cause[:500] + " ..."
    return f"    ✗ {error}: {cause}"


def _tail(logs: Any, job: dict[str, Any], say: Callable[[str], None]) -> None:
    """Shows the new progress lines of one job's CloudWatch log streams."""
    try:
        streams = logs.describe_log_streams(
            logGroupName=job["group"], logStreamNamePrefix=job["name"]
        )["logStreams"]
        names = [s["logStreamName"] for s in streams if s["logStreamName"].startswith(job["name"])]
        if not names:
            return
        request = {"logGroupName": job["group"], "logStreamNames": names}
        if job["since"]:
            request["startTime"] = job["since"]
        pages = logs.get_paginator("filter_log_events").paginate(**request)
        events = [e for page in pages for e in page.get("events", [])]
    except Exception:  # the job has not written its first line yet
        return
    for line in events:
        # Event ids are not stable across reads everywhere: key on stream, time and text.
        key = (line["logStreamName"], line["timestamp"], line["message"])
        if key in job["seen"]:
            continue
        job["seen"].add(key)
        job["since"] = max(job["since"] or 0, line["timestamp"])
        message = line["message"].rstrip()
        if _PROGRESS.search(message):
            say(f"    {message[:160]}")


def list_runs(target: Target, limit: int = 20) -> list[dict[str, Any]]:
    """The newest executions of the state machine."""
    response = target.client("stepfunctions").list_executions(
        stateMachineArn=target.state_machine_arn(), maxResults=limit
    )
    return response["executions"]


def run_name_of(target: Target, execution: str) -> str:
    """The run name (the S3 folder ``runs/<run_name>/``) of an execution name or ARN.

    The validated input in the execution's output names it; without an output (a run that
    failed or is still running), the input's ``run_name`` or else the execution name does, made
    into a run name as the workflow does. A name that is no execution is taken as a run name.
    """
    sfn = target.client("stepfunctions")
    try:
        described = sfn.describe_execution(executionArn=resolve(target, execution))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if execution.startswith("arn:") or code not in ("ExecutionDoesNotExist", "InvalidArn"):
            raise
        return sanitise_run_name(execution)
    return _run_name_in(described)


def _run_name_in(described: dict[str, Any]) -> str:
    planned = _json_object(described.get("output")).get("run", {})
    if isinstance(planned, dict) and isinstance(planned.get("run_name"), str):
        return planned["run_name"]
    requested = _json_object(described.get("input")).get("run_name")
    return sanitise_run_name(requested if isinstance(requested, str) else described["name"])


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def fetch_report(target: Target, run_name: str, out_dir: Path) -> dict[str, Any]:
    """Downloads a run's evaluation files into ``out_dir``; returns report.json's content.

    Raises:
        FileNotFoundError: the run has no evaluation files (yet).
    """
    _, artifacts = target.buckets()
    s3 = target.client("s3")
    prefix = f"runs/{run_name}/evaluation/"
    listed = s3.list_objects_v2(Bucket=artifacts, Prefix=prefix).get("Contents", [])
    if not listed:
        raise FileNotFoundError(
            f"no evaluation files under s3://{artifacts}/{prefix}: the run has not reached its "
            "evaluation, or is named otherwise (`python -m cli runs` lists the executions)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in listed:
        relative = item["Key"][len(prefix) :]
        if relative:
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(artifacts, item["Key"], str(out_dir / relative))
    return json.loads((out_dir / "report.json").read_text())
