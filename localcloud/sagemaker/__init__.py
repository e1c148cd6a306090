"""SageMaker in the local cloud: moto's mock, made to run the real code in local processes.

``install(state_dir)`` patches moto in the current process (the moto server's, before it
serves) so that:

- CreateTrainingJob / CreateProcessingJob run the job's entry point in a sandbox laid out like
  ``/opt/ml`` under ``state_dir/jobs/<name>/``, with data from and results to the local S3, and
  statuses that follow the process (InProgress -> Completed / Failed / Stopped);
- CreateEndpoint starts ``inference_code/local_server.py`` on the model's artifacts and the
  endpoint is InService once its ``/ping`` answers; sagemaker-runtime InvokeEndpoint reaches it;
- Step Functions runs ``arn:aws:states:::sagemaker:*`` tasks, ``.sync`` included.

Logs go to ``state_dir/logs/<TrainingJobs|ProcessingJobs|Endpoints>/<name>.log`` and to the local
CloudWatch Logs (``/aws/sagemaker/TrainingJobs`` and so on). The local cloud's address comes from
``MOTO_PORT`` (``http://localhost:$MOTO_PORT``), which moto's Step Functions also uses. See
docs/local-sagemaker.md.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from localcloud.sagemaker import registry

# moto is imported by the functions, not here: a job's own process imports the light modules of
# this package (localcloud.sagemaker.toolkit) and must not pay for moto at every start.

__all__ = ["install", "running_pids", "shutdown", "uninstall"]

_exit_hook_registered = False


def install(
    state_dir: Path,
    *,
    endpoint_server: Path | None = None,
    endpoint_startup_timeout_s: float = 900.0,
    invoke_timeout_s: float = 600.0,
    checkpoint_sync_s: float = 10.0,
) -> None:
    """Applies the SageMaker patches to moto in this process.

    Args:
        state_dir: where job sandboxes, endpoint model copies and logs are kept.
        endpoint_server: the script an endpoint runs with ``--model-dir``, ``--port``, ``--host``
            (the project's ``inference_code/local_server.py`` when None; tests swap it).
        endpoint_startup_timeout_s: an endpoint not answering ``/ping`` by then is Failed.
        invoke_timeout_s: how long InvokeEndpoint waits for the server.
        checkpoint_sync_s: how often a running job's checkpoints are copied to S3.
    """
    from localcloud.sagemaker import cfn_resources, moto_patches, sfn_patches, vpc_access
    from localcloud.sagemaker.settings import LOCAL_SERVER, Settings, configure

    global _exit_hook_registered
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    configure(
        Settings(
            state_dir=state_dir,
            endpoint_server=Path(endpoint_server or LOCAL_SERVER),
            endpoint_startup_timeout_s=endpoint_startup_timeout_s,
            invoke_timeout_s=invoke_timeout_s,
            checkpoint_sync_s=checkpoint_sync_s,
        )
    )
    moto_patches.install()
    sfn_patches.install()
    cfn_resources.register()
    vpc_access.install()
    if not _exit_hook_registered:
        atexit.register(shutdown)
        _exit_hook_registered = True


def shutdown() -> None:
    """Stops every running job and endpoint process (call it when the local cloud stops)."""
    registry.stop_all()


def uninstall() -> None:
    """Stops everything and gives moto back its own SageMaker mock (for tests sharing a process)."""
    from localcloud.sagemaker import moto_patches, sfn_patches

    shutdown()
    sfn_patches.uninstall()
    moto_patches.uninstall()


def running_pids() -> list[int]:
    """The process ids of the jobs and endpoint servers running now."""
    return registry.running_pids()
