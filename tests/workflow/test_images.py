"""Container images: every configured region resolves; overrides replace the pinned ones."""

from __future__ import annotations

import re

import pytest

from contracts import serving_images
from stacks.config import load_config
from stacks.config_schema import ImagesConfig
from stacks.workflow.images import (
    DLC_ACCOUNTS,
    repository_arn,
    resolve_images,
    training_image_uri,
)

ECR_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9-]+:[\w.-]+$")


def test_every_configured_region_resolves():
    for name, env in load_config().environments.items():
        images = resolve_images(env.region, env.images)
        for uri in (images.training, images.processing, images.serving):
            assert ECR_URI.match(uri), (name, uri)
            assert f".{env.region}." in uri, (name, uri)


@pytest.mark.parametrize("region", sorted(DLC_ACCOUNTS))
def test_every_region_in_the_table_gives_a_pinned_uri(region):
    uri = training_image_uri(region)
    assert ECR_URI.match(uri)
    assert uri.startswith(f"{DLC_ACCOUNTS[region]}.dkr.ecr.{region}.")
    assert uri.endswith(
        "/huggingface-pytorch-training:2.9.0-transformers5.3.0-gpu-py312-cu130-ubuntu22.04-v1.0"
    )


def test_the_serving_image_comes_from_inference_code():
    assert resolve_images("eu-west-1", ImagesConfig()).serving == (
        serving_images.serving_image_uri("eu-west-1")
    )


def test_china_regions_use_the_china_domain():
    assert training_image_uri("cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"
    )


# mx-central-1 has Deep Learning Containers, but not this one (the SDK lists no registry there).
@pytest.mark.parametrize("region", ["xx-nowhere-1", "mx-central-1"])
def test_an_unpublished_region_says_what_to_do(region):
    with pytest.raises(
        ValueError,
        match=r"job image huggingface-pytorch-training:\S+ is not published in region "
        r".*set images\.training in config/environments\.yaml",
    ):
        training_image_uri(region)


def test_overrides_replace_one_image_each():
    custom = "111122223333.dkr.ecr.us-east-1.amazonaws.com/my-trainer:1.0"
    images = resolve_images("us-east-1", ImagesConfig(training=custom))
    assert images.training == custom
    assert images.processing == custom  # processing follows training unless set itself
    assert images.serving == serving_images.serving_image_uri("us-east-1")
    assert images.job_repository_arns("aws") == [
        "arn:aws:ecr:us-east-1:111122223333:repository/my-trainer",
    ]
    assert images.serving_repository_arn("aws") == (
        "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"
    )


def test_repository_arns_parse_digests_too():
    uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer@sha256:" + "a" * 64
    assert (
        repository_arn(uri, "aws") == "arn:aws:ecr:eu-west-1:123456789012:repository/team/trainer"
    )
