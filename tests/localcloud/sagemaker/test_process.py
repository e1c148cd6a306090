"""A job's process: what it leaves running ends with it, and its failure line is the telling one."""

from __future__ import annotations

import os
import re
from pathlib import Path

from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.process import ManagedProcess, error_line

from .conftest import Cloud, pid_alive, unique

# The end of stderr when a script fails under torchrun with two workers (torch 2.13).
TORCHRUN_STDERR = """\
Traceback (most recent call last):
  File "/tmp/job/code/train.py", line 3, in <module>
    raise ValueError("dataset column text missing")
ValueError: dataset column text missing
E1127 13:07:12.802000 1049 torch/distributed/elastic/multiprocessing/api.py:1002] failed \
(exitcode: 1) local_rank: 0 (pid: 1054) of binary: /work/main/.venv/bin/python
Traceback (most recent call last):
  File "/work/main/.venv/lib/python3.11/site-packages/torch/distributed/launcher/api.py", \
line 383, in launch_agent
    raise ChildFailedError(
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
train.py FAILED
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  rank      : 0 (local_rank: 0)
  exitcode  : 1 (pid: 1054)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
============================================================
"""


def test_error_line_skips_torchruns_summary_for_the_workers_exception() -> None:
    assert error_line(TORCHRUN_STDERR.splitlines(), ["step 1"]) == (
        "ValueError: dataset column text missing"
    )


def test_error_line_prefers_errors_then_the_last_line_that_is_not_a_separator() -> None:
    usage = ["usage: train.py [-h] --epochs EPOCHS", "train.py: error: --epochs is required"]
    assert error_line(usage, []) == "train.py: error: --epochs is required"
    assert error_line(["[rank1]: KeyError: 'text'", "[rank1]: "], []) == "[rank1]: KeyError: 'text'"
    # Python's shutdown notes ("Exception ignored in ...") name no error.
    assert error_line(["ValueError: bad", "Exception ignored in: <function f>"], []) == (
        "ValueError: bad"
    )
    assert error_line(["warning: slow", "=" * 20], ["KeyError: 'text'"]) == "KeyError: 'text'"
    assert error_line(["", "  ", "-----"], ["saving", "done 50%\rdone 100%", ""]) == "done 100%"
    assert error_line([], []) == ""


def test_what_the_process_leaves_running_ends_when_it_exits(cloud: Cloud, tmp_path: Path) -> None:
    name = unique("process")
    sink = LogSink(tmp_path / "process.log", lambda: cloud.client("logs"), "/test/process", name)
    process = ManagedProcess(
        ["bash", "-c", "sleep 30 & echo child=$!; exit 3"],
        cwd=tmp_path,
        env=dict(os.environ),
        sink=sink,
    )
    assert process.wait(20) == 3
    sink.close()
    child = int(re.search(r"child=(\d+)", (tmp_path / "process.log").read_text())[1])
    assert not pid_alive(child)
