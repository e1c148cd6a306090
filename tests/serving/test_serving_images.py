"""The GPU serving image table and container settings the CDK stacks import."""

from __future__ import annotations

import re

import pytest
from local_server import parse_args

from contracts.serving_images import (
    ECR_ACCOUNTS,
    LMI_IMAGE_TAG,
    serving_environment,
    serving_image_uri,
)

URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/djl-inference:[\w.-]+$")


def test_every_listed_region_gets_a_pinned_lmi_uri():
    for region in ECR_ACCOUNTS:
        uri = serving_image_uri(region)
        assert URI.match(uri), uri
        assert f".{region}." in uri and uri.endswith(f":{LMI_IMAGE_TAG}")


def test_known_regions_use_the_published_registries():
    assert serving_image_uri("us-east-1") == (
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:{LMI_IMAGE_TAG}"
    )
    assert serving_image_uri("cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"
    )


def test_unknown_region_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"mars-east-1.*us-west-2"):
        serving_image_uri("mars-east-1")


def test_environment_carries_the_settings():
    env = serving_environment(max_model_len=4096, max_concurrency=32, tensor_parallel_degree=4)
    assert env["HF_MODEL_ID"] == "/opt/ml/model"
    assert env["OPTION_MAX_MODEL_LEN"] == "4096"
    assert env["OPTION_MAX_ROLLING_BATCH_SIZE"] == "32"
    assert env["OPTION_TENSOR_PARALLEL_DEGREE"] == "4"
    assert env["OPTION_ENTRYPOINT"] == "djl_python.lmi_vllm.vllm_async_service"
    assert all(isinstance(v, str) for v in env.values())  # CloudFormation wants strings


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0, 1, 1), "max_model_len"),
        ((8, -1, 1), "max_concurrency"),
        ((8, 1, "2"), "tensor_parallel_degree"),
    ],
)
def test_bad_settings_name_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        serving_environment(*args)


def test_local_server_honours_the_gpu_containers_settings(monkeypatch):
    env = serving_environment(max_model_len=1024, max_concurrency=16, tensor_parallel_degree=8)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    args = parse_args(["--model-dir", "m", "--port", "0"])
    assert (args.max_model_len, args.max_batch_size) == (1024, 16)
    flags = parse_args(["--model-dir", "m", "--port", "0", "--max-batch-size", "2"])
    assert flags.max_batch_size == 2  # a flag wins over the environment


def test_local_server_defaults_without_the_containers_settings(monkeypatch):
    for variable in ("OPTION_MAX_MODEL_LEN", "OPTION_MAX_ROLLING_BATCH_SIZE"):
        monkeypatch.delenv(variable, raising=False)
    args = parse_args(["--model-dir", "m", "--port", "0"])
    assert (args.max_model_len, args.max_batch_size) == (None, 8)


def test_a_bad_container_setting_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("OPTION_MAX_MODEL_LEN", "max")
    with pytest.raises(SystemExit):
        parse_args(["--model-dir", "m", "--port", "0"])
    assert "OPTION_MAX_MODEL_LEN='max': must be a whole number above 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-model-len", "0"), ("--max-model-len", "-5"), ("--threads", "0"), ("--threads", "-1")],
)
def test_a_limit_below_1_is_refused_at_start(monkeypatch, capsys, flag, value):
    # -5 used to start a server that refused every request; 0 meant "the model's limit".
    monkeypatch.delenv("OPTION_MAX_MODEL_LEN", raising=False)
    with pytest.raises(SystemExit) as caught:
        parse_args(["--model-dir", "m", "--port", "0", flag, value])
    assert caught.value.code == 2
    assert f"{flag} must be at least 1, got {value}" in capsys.readouterr().err
