"""Where a job's or endpoint's output goes: a local file and CloudWatch Logs, as on SageMaker."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)

# CloudWatch Logs takes at most 10,000 events and about 1 MB per PutLogEvents call.
_MAX_EVENTS = 5_000
_MAX_BYTES = 800_000
_MAX_EVENT_CHARS = 200_000


class LogSink:
    """Collects output lines, appends them to ``path`` at once and ships them in batches.

    Args:
        path: the log file (created with its folder).
        logs_client: makes a CloudWatch Logs client for the local cloud (called on first flush).
        group: the log group, e.g. ``/aws/sagemaker/TrainingJobs``.
        stream: the log stream, e.g. ``<job>/algo-1-1700000000``.
    """

    def __init__(self, path: Path, logs_client: Callable[[], BaseClient], group: str, stream: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.group = group
        self.stream = stream
        self._file = path.open("a", encoding="utf-8")
        self._make_client = logs_client
        self._client: BaseClient | None = None
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._broken = False
        self._closed = False

    def write(self, line: str) -> None:
        """Records one line of output (without its newline)."""
        with self._lock:
            if self._closed:
                return  # a straggling line after the process was reaped
            self._file.write(line + "\n")
            self._file.flush()
            self._pending.append(
                {"timestamp": int(time.time() * 1000), "message": line[:_MAX_EVENT_CHARS] or " "}
            )

    def flush(self) -> None:
        """Ships the lines written since the last flush to CloudWatch Logs (best effort)."""
        with self._lock:
            events, self._pending = self._pending, []
        if not events or self._broken:
            return
        try:
            client = self._ensure_stream()
            for batch in _batches(events):
                client.put_log_events(
                    logGroupName=self.group, logStreamName=self.stream, logEvents=batch
                )
        except (BotoCoreError, ClientError) as error:
            # The file still has every line; a user reading CloudWatch is told once why not.
            self._broken = True
            LOG.warning("could not ship logs to %s/%s: %s", self.group, self.stream, error)

    def close(self) -> None:
        """Ships what is left and closes the file."""
        self.flush()
        with self._lock:
            self._closed = True
            self._file.close()

    def _ensure_stream(self) -> BaseClient:
        if self._client is None:
            client = self._make_client()
            for call, kwargs in (
                (client.create_log_group, {"logGroupName": self.group}),
                (
                    client.create_log_stream,
                    {"logGroupName": self.group, "logStreamName": self.stream},
                ),
            ):
                with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                    call(**kwargs)
            self._client = client
        return self._client


def _batches(events: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    batches: list[list[dict[str, object]]] = [[]]
    size = 0
    for event in events:
        event_size = len(str(event["message"])) + 26
        if len(batches[-1]) >= _MAX_EVENTS or size + event_size > _MAX_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += event_size
    return [batch for batch in batches if batch]
