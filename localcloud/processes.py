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


def _ps(*columns: str) -> list[list[str]]:
    """One row of ``columns`` per visible process (``ps`` works on Linux and macOS alike)."""
    out = subprocess.run(
        ["ps", "-A", "-o", ",".join(f"{column}=" for column in columns)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = (line.split() for line in out.splitlines())
    return [row for row in rows if len(row) == len(columns)]


def _parent_map() -> dict[int, int]:
    """Map every visible pid to its parent pid."""
    return {
        int(pid): int(ppid) for pid, ppid in _ps("pid", "ppid") if pid.isdigit() and ppid.isdigit()
    }


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


def group_members(pgid: int) -> list[int]:
    """Return the pids of the live (not zombie) processes in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []  # the usual case, answered without running ps
    except PermissionError:
        pass
    # Zombies count for killpg but are already dead: an orphan's zombie waits for init to reap
    # it, and an init that never reaps (as in some containers) would keep the group "alive".
    return [
        int(pid)
        for pid, group, state in _ps("pid", "pgid", "stat")
        if group == str(pgid) and pid.isdigit() and not state.startswith("Z")
    ]


def end_group(pgid: int, *, grace_s: float = 2.0) -> None:
    """End what is left in process group ``pgid``: SIGTERM, then SIGKILL after ``grace_s``.

    For a group whose leader has exited: the children it leaves running (torchrun workers whose
    agent died, a server's helpers) are orphaned to init, outside the server's descendants, where
    stopping the local cloud would never find them. Returns at once when nothing is left.
    """
    if not group_members(pgid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and group_members(pgid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
