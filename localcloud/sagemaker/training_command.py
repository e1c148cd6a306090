"""The command a framework training container runs on each host: the toolkit's runner.

The PyTorch and Hugging Face containers pick the runner from the hyperparameters: with
``sagemaker_torch_distributed_enabled`` the toolkit's ``TorchDistributedRunner``
(``torch_distributed.py`` ``_create_command``) starts

    torchrun --nnodes <hosts> --nproc_per_node <processes per host>
             [--master_addr <first host> --master_port 7777 --node_rank <this host's index>]
             <program> <args>

(the bracket only with several hosts; processes per host = GPUs, else Neuron cores, else 1:
``runner._get_by_runner_type``); otherwise the ``ProcessRunner`` runs the program once per host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.sagemaker import contract

TOOLKIT_MASTER_PORT = 7777  # torch_distributed.MASTER_PORT


@dataclass(frozen=True)
class Cluster:
    """The hosts of one training job as the runner sees them.

    Attributes:
        hosts: ``algo-1`` ... in order; the first is the rendezvous (``master_hostname``).
        master_port: the rendezvous port. The toolkit's 7777 in an isolated job, whose network
            is its own; a free port of this machine otherwise, as the hosts share its network
            with whatever else runs here.
        workers_per_host: ``--nproc_per_node``: 1 on the CPU; the instance count when the
            machine cannot run separate hosts and the instances become processes of one.
    """

    hosts: list[str]
    master_port: int = TOOLKIT_MASTER_PORT
    workers_per_host: int = 1


def entry_command(python: str, program: str, decoded: dict[str, Any], cluster: Cluster, host: str):
    """The argv that runs ``program`` on ``host`` (a ``python`` first is the project's Python)."""
    args = contract.to_cmd_args(contract.user_hyperparameters(decoded))
    torchrun = contract.distributed(decoded) or cluster.workers_per_host > 1
    if program.endswith(".py") and torchrun:
        hosts = cluster.hosts
        command = [
            python, "-m", "torch.distributed.run",
            "--nnodes", str(len(hosts)), "--nproc_per_node", str(cluster.workers_per_host),
        ]  # fmt: skip
        if len(hosts) > 1:
            command += [
                "--master_addr", hosts[0], "--master_port", str(cluster.master_port),
                "--node_rank", str(hosts.index(host)),
            ]  # fmt: skip
        else:
            # One host: torchrun picks a free port, where a fixed one could meet another job's.
            command.append("--standalone")
        return [*command, program, *args]
    if program.endswith(".py"):
        return [python, program, *args]
    if program.endswith(".sh"):
        return ["bash", program, *args]
    return [f"./{program}", *args]
