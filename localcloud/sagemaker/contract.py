"""The training container contract: how a SageMaker framework container starts an entry point.

Mirrors the ``sagemaker-training`` toolkit that the Hugging Face and PyTorch training images run:

- Hyperparameters arrive as strings; each is JSON-decoded when it parses (the SageMaker Python SDK
  JSON-encodes them, so ``'"train.py"'`` means ``train.py``) and kept as-is otherwise.
- Keys starting with ``sagemaker_`` configure the container and are not passed to the script.
- The rest become ``--key value`` arguments in sorted key order, values as ``str()`` of the
  decoded value (``'true'`` arrives as ``True``, ``'3'`` as ``3``) and dicts as ``k=v,k=v``.
- ``SM_*`` environment variables describe the channels, folders, hosts and hyperparameters.

Each instance of a job is a host named ``algo-1``, ``algo-2``, ... (sorted, the first is the
leader, ``master_hostname``), and reads its own place in ``resourceconfig.json`` (AWS developer
guide, "How Amazon SageMaker Provides Training Information", Distributed Training Configuration;
the toolkit's ``environment.Environment``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from localcloud.sagemaker.opt_ml import OptMl

HOST = "algo-1"
GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
# Either flag asks the framework container to launch with torchrun.
DISTRIBUTION_FLAGS = (
    "sagemaker_torch_distributed_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
)


def decode(raw: dict[str, str] | None) -> dict[str, Any]:
    """JSON-decodes each hyperparameter value that parses; keeps the others as strings."""
    decoded: dict[str, Any] = {}
    for name, value in (raw or {}).items():
        try:
            decoded[name] = json.loads(value)
        except (TypeError, ValueError):
            decoded[name] = value
    return decoded


def user_hyperparameters(decoded: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters meant for the script (without the ``sagemaker_*`` keys)."""
    return {name: value for name, value in decoded.items() if not name.startswith("sagemaker_")}


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``{"lr": 0.1, "epochs": 3}`` -> ``["--epochs", "3", "--lr", "0.1"]``."""
    args: list[str] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        if isinstance(value, dict):
            value = ",".join(f"{key}={item}" for key, item in sorted(value.items()))
        args += [f"--{name}", "" if value is None else str(value)]
    return args


def distributed(decoded: dict[str, Any]) -> bool:
    """True when a distribution flag asks the container to start the program under torchrun."""
    return any(str(decoded.get(flag, "")).lower() == "true" for flag in DISTRIBUTION_FLAGS)


def wants_torchrun(decoded: dict[str, Any], instance_count: int) -> bool:
    """True when the job asks for several workers (instances or a distribution flag)."""
    return instance_count > 1 or distributed(decoded)


def host_names(count: int) -> list[str]:
    """``["algo-1", ..., "algo-<count>"]``, the order SageMaker lists them in."""
    return [f"algo-{index}" for index in range(1, max(count, 1) + 1)]


def resource_config(host: str, hosts: list[str], instance_type: str) -> dict[str, Any]:
    """``/opt/ml/input/config/resourceconfig.json`` of ``host``, one homogeneous group."""
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": GROUP, "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": NETWORK_INTERFACE,
    }


def environment(
    *,
    job_name: str,
    sandbox: OptMl,
    channels: list[str],
    decoded: dict[str, Any],
    program: str,
    instance_type: str,
    module_dir: str,
    host: str = HOST,
    hosts: list[str] | None = None,
) -> dict[str, str]:
    """The ``SM_*`` variables the toolkit sets for ``program`` on ``host`` of ``hosts``.

    ``SM_NUM_GPUS`` is 0: the local cloud runs on the CPU.
    """
    hosts = hosts or [host]
    hyperparameters = user_hyperparameters(decoded)
    channel_dirs = {name: str(sandbox.channel_dir(name)) for name in channels}
    resources = resource_config(host, hosts, instance_type)
    training_env = {
        "additional_framework_parameters": {
            name: value for name, value in decoded.items() if name.startswith("sagemaker_")
        },
        "channel_input_dirs": channel_dirs,
        "current_host": host,
        "current_instance_group": GROUP,
        "current_instance_type": instance_type,
        "distribution_hosts": hosts,
        "framework_module": None,
        "hosts": hosts,
        "hyperparameters": hyperparameters,
        "input_config_dir": str(sandbox.input_config_dir),
        "input_data_config": {name: {"TrainingInputMode": "File"} for name in channels},
        "input_dir": str(sandbox.input_dir),
        "is_master": host == hosts[0],
        "job_name": job_name,
        "log_level": 20,
        "master_hostname": hosts[0],
        "model_dir": str(sandbox.model_dir),
        "module_dir": module_dir,
        "module_name": Path(program).stem,
        "network_interface_name": NETWORK_INTERFACE,
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "output_data_dir": str(sandbox.output_data_dir),
        "output_dir": str(sandbox.output_dir),
        "resource_config": resources,
        "user_entry_point": program,
    }
    env = {
        "SM_MODEL_DIR": str(sandbox.model_dir),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_OUTPUT_DATA_DIR": str(sandbox.output_data_dir),
        "SM_OUTPUT_DIR": str(sandbox.output_dir),
        "SM_INPUT_DIR": str(sandbox.input_dir),
        "SM_INPUT_CONFIG_DIR": str(sandbox.input_config_dir),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_USER_ARGS": json.dumps(to_cmd_args(hyperparameters)),
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": host,
        "SM_CURRENT_INSTANCE_TYPE": instance_type,
        "SM_CURRENT_INSTANCE_GROUP": GROUP,
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": json.dumps(hosts),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": json.dumps([GROUP]),
        "SM_IS_HETERO": "false",
        "SM_NETWORK_INTERFACE_NAME": NETWORK_INTERFACE,
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_INPUT_DATA_CONFIG": json.dumps(training_env["input_data_config"]),
        "SM_USER_ENTRY_POINT": program,
        "SM_MODULE_NAME": Path(program).stem,
        "SM_MODULE_DIR": module_dir,
        "SM_LOG_LEVEL": "20",
        "SM_TRAINING_ENV": json.dumps(training_env),
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = channel_dirs[name]
    for name, value in hyperparameters.items():
        env[f"SM_HP_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env
