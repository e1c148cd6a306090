"""Container images of the training workflow, resolved per region at synth time.

- Jobs (data preparation, training, evaluation): the job image of ``job_image.py``, AWS's
  Hugging Face PyTorch training Deep Learning Container (sagemaker-training toolkit:
  ``sagemaker_program`` + ``sagemaker_submit_directory``, torchrun for distributed jobs), with
  the job libraries of ``training_code/requirements.lock`` installed at job start. Processing
  jobs run the same image so data preparation and evaluation see the libraries training sees.
- Serving (the temporary endpoints): the LMI/vLLM image from ``inference_code/serving_images.py``.

Each is pinned; ``images.training|processing|serving`` in the environment's config replaces one
with a prebuilt image (docs/job-environment.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from stacks.config_schema import ImagesConfig
from stacks.script_module import load_script
from stacks.workflow.job_image import JOB_IMAGE

# The regions that publish the job image, with the account of its ECR registry there: the
# "registries" of its entry in the SageMaker Python SDK's image_uri_config/huggingface.json
# (training, 5.3.0, pytorch2.9.0), the same accounts as the "Region Availability" table of
# aws/deep-learning-containers available_images.md. GovCloud and ISO regions are left out.
_DLC = "763104351884"
DLC_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": _DLC,
    "ap-northeast-2": _DLC,
    "ap-northeast-3": "364406365360",
    "ap-south-1": _DLC,
    "ap-southeast-1": _DLC,
    "ap-southeast-2": _DLC,
    "ap-southeast-3": "907027046896",
    "ca-central-1": _DLC,
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": _DLC,
    "eu-north-1": _DLC,
    "eu-south-1": "692866216735",
    "eu-west-1": _DLC,
    "eu-west-2": _DLC,
    "eu-west-3": _DLC,
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
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
    """The job image (``job_image.JOB_IMAGE``, by its versioned tag) in ``region``.

    Raises:
        ValueError: AWS does not publish the job image in that region.
    """
    account = DLC_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(
            f"the job image {JOB_IMAGE.repository}:{JOB_IMAGE.tag} is not published in region "
            f"{region!r}; set images.training in config/environments.yaml or use one of: "
            f"{', '.join(DLC_ACCOUNTS)}"
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{JOB_IMAGE.repository}:{JOB_IMAGE.tag}"


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
