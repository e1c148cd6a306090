"""The /opt/ml path rule and the training container contract, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.sagemaker import contract
from localcloud.sagemaker.opt_ml import OptMl, rewrite

ROOT = Path("/state/jobs/job-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/opt/ml/model", "/state/jobs/job-1/model"),
        ("/opt/ml", "/state/jobs/job-1"),
        ("--output_dir=/opt/ml/checkpoints", "--output_dir=/state/jobs/job-1/checkpoints"),
        (
            "cd /opt/ml/processing/input/code && python3 run.py '/opt/ml/processing/output'",
            "cd /state/jobs/job-1/processing/input/code && python3 run.py "
            "'/state/jobs/job-1/processing/output'",
        ),
        ("/opt/mlflow/x", "/opt/mlflow/x"),
        ("/data/opt/ml/model", "/data/opt/ml/model"),
        ("s3://bucket/opt/ml/model", "s3://bucket/opt/ml/model"),
    ],
)
def test_rewrite_moves_opt_ml_paths_into_the_sandbox(value: str, expected: str) -> None:
    assert rewrite(value, ROOT) == expected


def test_rewrite_walks_lists_and_dicts_and_keeps_other_values() -> None:
    value = {"a": ["/opt/ml/a", 3, None], "b": {"c": "/opt/ml/c"}, "d": True}
    assert rewrite(value, ROOT) == {
        "a": ["/state/jobs/job-1/a", 3, None],
        "b": {"c": "/state/jobs/job-1/c"},
        "d": True,
    }


def test_local_refuses_a_path_outside_opt_ml() -> None:
    with pytest.raises(ValueError, match="not under /opt/ml"):
        OptMl(ROOT).local("/tmp/data")
    assert OptMl(ROOT).local("/opt/ml/processing/input") == ROOT / "processing/input"


def test_hyperparameters_are_decoded_and_passed_like_the_training_toolkit() -> None:
    raw = {
        "sagemaker_program": '"train.py"',  # the SDK JSON-encodes every value
        "sagemaker_submit_directory": '"s3://b/code/sourcedir.tar.gz"',
        "epochs": "3",
        "learning_rate": "2e-4",
        "recipe": "lora",  # not JSON: kept as it is
        "use_liger": "true",
        "target": '{"b": 2, "a": 1}',
    }
    decoded = contract.decode(raw)
    assert decoded["sagemaker_program"] == "train.py"
    user = contract.user_hyperparameters(decoded)
    assert sorted(user) == ["epochs", "learning_rate", "recipe", "target", "use_liger"]
    assert contract.to_cmd_args(user) == [
        "--epochs", "3", "--learning_rate", "0.0002", "--recipe", "lora",
        "--target", "a=1,b=2", "--use_liger", "True",
    ]  # fmt: skip


def test_torchrun_is_chosen_for_several_instances_or_a_distribution_flag() -> None:
    assert not contract.wants_torchrun({}, 1)
    assert contract.wants_torchrun({}, 2)
    assert contract.wants_torchrun({"sagemaker_torch_distributed_enabled": True}, 1)
    assert contract.wants_torchrun({"sagemaker_distributed_dataparallel_enabled": "true"}, 1)


def test_environment_describes_channels_folders_and_hyperparameters() -> None:
    sandbox = OptMl(ROOT)
    env = contract.environment(
        job_name="job-1",
        sandbox=sandbox,
        channels=["train", "validation"],
        decoded={"epochs": 2, "sagemaker_program": "train.py"},
        program="train.py",
        instance_type="ml.g5.2xlarge",
        module_dir="s3://b/code/sourcedir.tar.gz",
    )
    assert env["SM_MODEL_DIR"] == "/state/jobs/job-1/model"
    assert env["SM_CHANNEL_TRAIN"] == "/state/jobs/job-1/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/state/jobs/job-1/input/data/validation"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert json.loads(env["SM_HPS"]) == {"epochs": 2}
    assert env["SM_HP_EPOCHS"] == "2"
    assert env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "job-1"
    assert training_env["channel_input_dirs"]["train"] == env["SM_CHANNEL_TRAIN"]
    assert training_env["additional_framework_parameters"] == {"sagemaker_program": "train.py"}
