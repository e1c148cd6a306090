"""Ending a process tree, including descendants that left the process group."""

from __future__ import annotations

import subprocess
import sys
import time

from localcloud.processes import alive, descendants, end_group, group_members, kill_tree

# A child that starts a grandchild in a session of its own (as SageMaker jobs are started),
# prints the grandchild's pid, then sleeps.
PARENT = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                              start_new_session=True)
print(grandchild.pid, flush=True)
time.sleep(300)
"""


def test_kill_tree_ends_descendants_in_other_sessions() -> None:
    root = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert root.stdout is not None
    grandchild = int(root.stdout.readline())
    assert grandchild in descendants(root.pid)
    assert alive(grandchild)

    started = time.monotonic()
    kill_tree(root.pid, grace_s=2.0)
    root.wait(timeout=5)

    assert not alive(root.pid)
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild)
    assert time.monotonic() - started < 5  # SIGTERM sufficed: no wait for the grace period


def test_alive_is_false_for_a_finished_process() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert not alive(done.pid)


def test_end_group_ends_what_an_exited_leader_left_running() -> None:
    # One leftover ends on SIGTERM; one ignores it and is killed once the grace has passed.
    leader = subprocess.Popen(
        ["bash", "-c", "sleep 30 & (trap '' TERM; sleep 30) & echo $!; exit 0"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert leader.stdout is not None
    stubborn = int(leader.stdout.readline())
    assert leader.wait(timeout=5) == 0
    assert len(group_members(leader.pid)) >= 2

    end_group(leader.pid, grace_s=0.5)
    deadline = time.monotonic() + 5
    while alive(stubborn) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(stubborn)
    assert group_members(leader.pid) == []
