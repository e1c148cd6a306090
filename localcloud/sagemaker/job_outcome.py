"""How a training or processing job ended, and the FailureReason SageMaker reports for it."""

from __future__ import annotations

from dataclasses import dataclass

from localcloud.sagemaker import contract

_MAX_REASON = 1024


class JobError(Exception):
    """A job failed before or outside its process; the message is the FailureReason."""


@dataclass(frozen=True)
class Outcome:
    """How the job's processes ended.

    Attributes:
        exit_code: the exit code of ``host``'s process (0 when every host succeeded).
        stopped: StopTrainingJob / StopProcessingJob ended it.
        timed_out: ``MaxRuntimeInSeconds`` ended it.
        host: the host whose process failed first (its error is the job's), else the leader.
        refused: the local cloud ended it: pip said it would change the venv.
    """

    exit_code: int
    stopped: bool = False
    timed_out: bool = False
    host: str = contract.HOST
    refused: bool = False


def trim_reason(reason: str) -> str:
    """SageMaker caps FailureReason at 1024 characters."""
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."
