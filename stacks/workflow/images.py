"""Container images of the training workflow, resolved per region at synth time.

- Training and processing: AWS's Hugging Face PyTorch training Deep Learning Container
  (sagemaker-training toolkit: ``sagemaker_program`` + ``sagemaker_submit_directory``, torchrun
  for distributed jobs). Processing jobs run the same image so data preparation and evaluation
  see the libraries training sees.
- Serving (the temporary endpoints): the LMI/vLLM image from ``inference_code/serving_images.py``.

Each is pinned; ``images.training|processing|serving`` in the environment's config replaces one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from stacks.config_schema import ImagesConfig
from stacks.script_module import load_script

# The newest Hugging Face training DLC, as listed in aws/deep-learning-containers
# available_images.md ("PyTorch 2.5.1 + transformers", GPU, py311) and in the SageMaker Python
# SDK's image_uri_config/huggingface.json (transformers 4.49.0, pytorch 2.5.1). CUDA 12.4 runs
# on the drivers of ml.g5/g6/p4d/p5 hosts. Change REPOSITORY/TAG together, after reading
# the DLC release notes.
TRAINING_REPOSITORY = "huggingface-pytorch-training"
TRAINING_TAG = "2.5.1-transformers4.49.0-gpu-py311-cu124-ubuntu22.04"

# ECR accounts of the Deep Learning Containers per region ("Region Availability" table of
# aws/deep-learning-containers available_images.md). A region not listed has no DLC.
_DLC = "763104351884"
DLC_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": _DLC,
    "ap-northeast-1": _DLC,
    "ap-northeast-2": _DLC,
    "ap-northeast-3": "364406365360",
    "ap-south-1": _DLC,
    "ap-south-2": "772153158452",
    "ap-southeast-1": _DLC,
    "ap-southeast-2": _DLC,
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-7": "590183813437",
    "ca-central-1": _DLC,
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": _DLC,
    "eu-central-2": "380420809688",
    "eu-north-1": _DLC,
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": _DLC,
    "eu-west-2": _DLC,
    "eu-west-3": _DLC,
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "mx-central-1": "637423239942",
    "sa-east-1": _DLC,
    "us-east-1": _DLC,
    "us-east-2": _DLC,
    "us-west-1": _DLC,
    "us-west-2": _DLC,
}

_SERVING_IMAGES = Path(__file__).resolve().parents[2] / "inference_code" / "serving_images.py"
_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[^:@]+)[:@]"
)


@dataclass(frozen=True)
class WorkflowImages:
    """The three image URIs one environment's workflow uses."""

    training: str
    processing: str
    serving: str

    def job_repository_arns(self, partition: str) -> list[str]:
        """The ECR repositories the jobs' role pulls from (training, processing), no duplicates."""
        return sorted({repository_arn(uri, partition) for uri in (self.training, self.processing)})

    def serving_repository_arn(self, partition: str) -> str:
        """The ECR repository the temporary endpoints' role pulls the serving image from."""
        return repository_arn(self.serving, partition)


@cache
def serving_images() -> ModuleType:
    """``inference_code/serving_images.py`` (a script folder, not a package)."""
    return load_script(_SERVING_IMAGES)


def training_image_uri(region: str) -> str:
    """The pinned Hugging Face training image in ``region``.

    Raises:
        ValueError: AWS publishes no Deep Learning Container in that region.
    """
    account = DLC_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(
            f"no Hugging Face training image is published in region {region!r}; set "
            f"images.training in config/environments.yaml or use one of: {', '.join(DLC_ACCOUNTS)}"
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{TRAINING_REPOSITORY}:{TRAINING_TAG}"


def resolve_images(region: str, overrides: ImagesConfig) -> WorkflowImages:
    """The images for ``region``, with the environment's overrides applied."""
    training = overrides.training or training_image_uri(region)
    return WorkflowImages(
        training=training,
        processing=overrides.processing or training,
        serving=overrides.serving or serving_images().serving_image_uri(region),
    )


def repository_arn(image_uri: str, partition: str) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` -> the repository's ARN."""
    match = _IMAGE_URI.match(image_uri)
    if match is None:
        raise ValueError(f"not an ECR image URI: {image_uri!r}")
    return (
        f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    )
