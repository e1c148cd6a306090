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


def stop_all(account: str | None = None, region: str | None = None) -> None:
    """Stops every job and endpoint (of one account and region, if given) and forgets them."""
    with _lock:
        keys = [k for k in _runs if account in (None, k[1]) and region in (None, k[2])]
        runs = [_runs.pop(k) for k in keys]
    for run in runs:
        run.stop()
