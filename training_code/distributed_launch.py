"""Starting one worker per GPU (and per instance) when SageMaker ran ``python train.py`` once.

With ``distribution={"torch_distributed": {"enabled": True}}`` the training toolkit already
starts ``train.py`` under torchrun, and ``torchrun`` sets ``WORLD_SIZE``. Without it, SageMaker
runs one plain process per instance; then ``train.py`` re-executes itself under torchrun with
one process per GPU, the hosts of ``SM_HOSTS`` as nodes and the first host as rendezvous.
"""

from __future__ import annotations

import os
import shutil

from container_env import ContainerEnv

MASTER_PORT = "29500"
NO_RELAUNCH = "LLMFT_NO_RELAUNCH"  # set by the relaunch itself, and by anyone who wants it off


def torchrun_command(
    env: ContainerEnv, argv: list[str], environ: dict[str, str], script: str
) -> list[str] | None:
    """The torchrun command line to re-execute with, or None to run in this process."""
    if "WORLD_SIZE" in environ or NO_RELAUNCH in environ:
        return None
    gpus = env.num_gpus or 0
    nodes = max(len(env.hosts), 1)
    if gpus <= 1 and nodes <= 1:
        return None
    node_rank = env.hosts.index(env.current_host) if env.current_host in env.hosts else 0
    master = env.hosts[0] if env.hosts else "127.0.0.1"
    torchrun = shutil.which("torchrun") or "torchrun"
    return [
        torchrun,
        f"--nnodes={nodes}",
        f"--node_rank={node_rank}",
        f"--nproc_per_node={max(gpus, 1)}",
        f"--master_addr={master}",
        f"--master_port={MASTER_PORT}",
        script,
        *argv,
    ]


def relaunch_if_needed(env: ContainerEnv, argv: list[str], script: str) -> None:
    """Replaces this process with torchrun when the job has several GPUs or instances."""
    command = torchrun_command(env, argv, dict(os.environ), script)
    if command is None:
        return
    print(f"relaunching under torchrun: {' '.join(command)}", flush=True)
    os.environ[NO_RELAUNCH] = "1"
    os.execvp(command[0], command)


def rank() -> int:
    """This process's global rank (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """How many processes train together (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))
