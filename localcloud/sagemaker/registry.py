"""The jobs and endpoints this process is running, so they can be found, stopped and cleaned up."""

from __future__ import annotations

import threading
from typing import Protocol

Key = tuple[str, str, str, str]  # (kind, account, region, name)


class Run(Protocol):
    """Anything started in the background that owns processes."""

    def stop(self) -> None:
        """Asks the run to stop; returns once its processes are gone."""
        ...

    def pids(self) -> list[int]:
        """The process ids it has running now."""
        ...


_runs: dict[Key, Run] = {}
_lock = threading.Lock()


def key(kind: str, account: str, region: str, name: str) -> Key:
    return (kind, account, region, name)


def add(run_key: Key, run: Run) -> None:
    with _lock:
        _runs[run_key] = run


def get(run_key: Key) -> Run | None:
    with _lock:
        return _runs.get(run_key)


def remove(run_key: Key) -> Run | None:
    with _lock:
        return _runs.pop(run_key, None)


def running_pids() -> list[int]:
    """Every process id the local SageMaker has running (for tests and diagnostics)."""
    with _lock:
        runs = list(_runs.values())
    return [pid for run in runs for pid in run.pids()]


def stop_all() -> None:
    """Stops every job and endpoint and forgets them (the local cloud is shutting down)."""
    with _lock:
        runs = list(_runs.values())
        _runs.clear()
    for run in runs:
        run.stop()
