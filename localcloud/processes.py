"""Ending a process and everything it started, so a stopped local cloud leaves nothing running.

The server runs in its own process group and every job it launches (Lambda handlers, training
and processing jobs, endpoint servers) is its descendant. Killing the group catches the
well-behaved ones; walking the process tree catches any that moved to a group of their own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def _parent_map() -> dict[int, int]:
    """Map every visible pid to its parent pid (``ps`` works on Linux and macOS alike)."""
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True
    ).stdout
    parents: dict[int, int] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
            parents[int(fields[0])] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Return the pids of every live descendant of ``pid`` (children first, then theirs)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parent_map().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    frontier = [pid]
    while frontier:
        nxt = [c for p in frontier for c in children.get(p, []) if c not in found]
        found.extend(nxt)
        frontier = nxt
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` names a running (not zombie) process this user may signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
        # The state follows the parenthesised command name; "Z" is a zombie awaiting reaping.
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_tree(pid: int, *, grace_s: float = 5.0, include_root: bool = True) -> None:
    """End ``pid``'s process group and all its descendants: SIGTERM, then SIGKILL after a grace.

    Args:
        pid: The root process; it leads its own process group (started with a new session).
        grace_s: Seconds the processes get to exit after SIGTERM before they are killed.
        include_root: Whether to signal ``pid`` itself (False when a process ends its own tree).
    """
    tree = descendants(pid)
    targets = ([pid] if include_root else []) + tree
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    _signal_all(targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in targets):
        time.sleep(0.1)
    # Children may have forked while we waited: look again before the hard kill.
    targets = list(dict.fromkeys(targets + descendants(pid)))
    survivors = [p for p in targets if alive(p)]
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    _signal_all(survivors, signal.SIGKILL)
