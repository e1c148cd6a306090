"""The SageMaker training container contract, read from the environment in one place.

Inside a training job the toolkit sets ``SM_*`` variables; in a plain local run they are unset
and the command-line paths are used instead. Explicit hyperparameters win over the environment
except for the base model: a ``model`` channel (an S3 prefix the job downloaded) replaces
``model_name_or_path``, since the workflow only attaches that channel when the base model is
an S3 prefix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from config_values import ConfigError
from train_config import TrainConfig

SM_CHANNEL_PREFIX = "SM_CHANNEL_"
SM_MODEL_DIR = "SM_MODEL_DIR"
SM_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
SM_NUM_GPUS = "SM_NUM_GPUS"
SM_HOSTS = "SM_HOSTS"
SM_CURRENT_HOST = "SM_CURRENT_HOST"

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"


@dataclass(frozen=True)
class ContainerEnv:
    """What the container says about this job (all optional outside SageMaker)."""

    channels: dict[str, str]
    model_dir: str | None
    output_data_dir: str | None
    num_gpus: int | None
    hosts: list[str]
    current_host: str | None

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> ContainerEnv:
        """Reads the ``SM_*`` variables (``os.environ`` by default)."""
        env = dict(os.environ if environ is None else environ)
        channels = {
            key[len(SM_CHANNEL_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(SM_CHANNEL_PREFIX)
        }
        gpus = env.get(SM_NUM_GPUS)
        return cls(
            channels=channels,
            model_dir=env.get(SM_MODEL_DIR),
            output_data_dir=env.get(SM_OUTPUT_DATA_DIR),
            num_gpus=int(gpus) if gpus not in (None, "") else None,
            hosts=json.loads(env[SM_HOSTS]) if env.get(SM_HOSTS) else [],
            current_host=env.get(SM_CURRENT_HOST),
        )


def resolve_paths(config: TrainConfig, env: ContainerEnv) -> TrainConfig:
    """Fills the data, model and output paths from the environment and checks they exist.

    Raises:
        ConfigError: a required channel or folder is missing, naming the variable to set.
    """
    data, trainer = config.data, config.trainer
    if "model" in env.channels:
        config.model.model_name_or_path = str(model_folder(env.channels["model"]))
    data.train_dir = data.train_dir or env.channels.get("train")
    data.validation_dir = data.validation_dir or env.channels.get("validation")
    trainer.model_dir = trainer.model_dir or env.model_dir
    trainer.output_data_dir = trainer.output_data_dir or env.output_data_dir
    if not data.train_dir:
        raise ConfigError(
            "no training data: attach a 'train' channel (SM_CHANNEL_TRAIN) or pass --train_dir"
        )
    data_file(data.train_dir, TRAIN_FILE, "train")
    if data.validation_dir:
        data_file(data.validation_dir, VALIDATION_FILE, "validation")
    if not trainer.model_dir:
        raise ConfigError("no output folder: set SM_MODEL_DIR or pass --model_dir")
    return config


def model_folder(channel_dir: str) -> Path:
    """The folder of the ``model`` channel that holds ``config.json`` (it or its only child)."""
    root = Path(channel_dir)
    candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    found = [p for p in candidates if (p / "config.json").is_file()]
    if found:
        return found[0]
    raise ConfigError(
        f"the 'model' channel ({root}) holds no config.json: point the base model's S3 prefix "
        "at an uncompressed Hugging Face model folder (config.json, *.safetensors, tokenizer)"
    )


def data_file(folder: str, name: str, channel: str) -> Path:
    """The JSONL file of a channel folder: ``name`` itself, else the folder's only ``*.jsonl``."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{channel} channel folder {root} does not exist")
    if (root / name).is_file():
        return root / name
    found = sorted(root.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise ConfigError(
        f"{channel} channel {root} must hold {name} (written by prepare_data.py); "
        f"found {[p.name for p in found] or 'no .jsonl files'}"
    )
