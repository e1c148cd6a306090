"""The container contract: SM_* variables, missing channels, and the torchrun relaunch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_loader import build_config
from config_values import ConfigError
from container_env import ContainerEnv, resolve_paths
from distributed_launch import torchrun_command

from tests.training.helpers import sql_records, write_channel


def _sm_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    train = write_channel(tmp_path / "train", "train", sql_records(2))
    validation = write_channel(tmp_path / "validation", "validation", sql_records(2, 10))
    return {
        "SM_CHANNEL_TRAIN": str(train),
        "SM_CHANNEL_VALIDATION": str(validation),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_NUM_GPUS": "0",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
        **extra,
    }


def test_paths_come_from_the_sagemaker_environment(tmp_path: Path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    env = ContainerEnv.from_environ(_sm_env(tmp_path, SM_CHANNEL_MODEL=str(tmp_path / "base")))
    config = resolve_paths(build_config(["--recipe", "lora"]), env)
    assert config.data.train_dir == str(tmp_path / "train")
    assert config.data.validation_dir == str(tmp_path / "validation")
    assert config.trainer.model_dir == str(tmp_path / "model")
    assert config.trainer.output_data_dir == str(tmp_path / "output")
    assert config.model.model_name_or_path == str(tmp_path / "base")  # the channel wins
    assert config.trainer.checkpoint_dir == "/opt/ml/checkpoints"


def test_command_line_paths_are_used_when_sm_variables_are_unset(tmp_path: Path):
    train = write_channel(tmp_path / "mine", "train", sql_records(2))
    argv = ["--train_dir", str(train), "--model_dir", str(tmp_path / "m")]
    config = resolve_paths(build_config(argv), ContainerEnv.from_environ({}))
    assert config.data.train_dir == str(train) and config.data.validation_dir is None
    assert config.model.model_name_or_path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_a_missing_train_channel_says_what_to_attach(tmp_path: Path):
    env = ContainerEnv.from_environ({"SM_MODEL_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"attach a 'train' channel \(SM_CHANNEL_TRAIN\)"):
        resolve_paths(build_config([]), env)


def test_a_channel_without_its_file_is_refused(tmp_path: Path):
    (tmp_path / "train").mkdir()
    env = ContainerEnv.from_environ(
        {"SM_CHANNEL_TRAIN": str(tmp_path / "train"), "SM_MODEL_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match=r"must hold train\.jsonl"):
        resolve_paths(build_config([]), env)


def test_a_missing_model_dir_is_refused(tmp_path: Path):
    env = ContainerEnv.from_environ(_sm_env(tmp_path))
    env = ContainerEnv(**{**vars(env), "model_dir": None})
    with pytest.raises(ConfigError, match="SM_MODEL_DIR"):
        resolve_paths(build_config([]), env)


def test_one_gpu_one_host_runs_in_process():
    env = ContainerEnv.from_environ({"SM_NUM_GPUS": "1", "SM_HOSTS": '["algo-1"]'})
    assert torchrun_command(env, [], {}, "train.py") is None


def test_several_gpus_and_hosts_relaunch_under_torchrun():
    env = ContainerEnv.from_environ(
        {"SM_NUM_GPUS": "8", "SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-2"}
    )
    command = torchrun_command(env, ["--lora_r", "8"], {}, "/code/train.py")
    assert command[1:] == [
        "--nnodes=2",
        "--node_rank=1",
        "--nproc_per_node=8",
        "--master_addr=algo-1",
        "--master_port=29500",
        "/code/train.py",
        "--lora_r",
        "8",
    ]


def test_no_relaunch_when_already_under_torchrun():
    env = ContainerEnv.from_environ({"SM_NUM_GPUS": "8"})
    assert torchrun_command(env, [], {"WORLD_SIZE": "8"}, "train.py") is None


def test_a_model_channel_is_found_one_level_down_or_refused(tmp_path: Path):
    nested = tmp_path / "base" / "smollm2"
    nested.mkdir(parents=True)
    (nested / "config.json").write_text("{}")
    env = ContainerEnv.from_environ(_sm_env(tmp_path, SM_CHANNEL_MODEL=str(tmp_path / "base")))
    assert resolve_paths(build_config([]), env).model.model_name_or_path == str(nested)

    (nested / "config.json").unlink()
    (nested / "model.tar.gz").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"'model' channel .* holds no config\.json"):
        resolve_paths(build_config([]), env)
