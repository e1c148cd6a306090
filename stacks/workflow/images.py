"""Container images of the training workflow, resolved per region at synth time.

- Jobs (data preparation, training, evaluation): the job image of ``job_image.py``, AWS's
  Hugging Face PyTorch training Deep Learning Container (sagemaker-training toolkit:
  ``sagemaker_program`` + ``sagemaker_submit_directory``, torchrun for distributed jobs), with
  the job libraries of ``training_code/requirements.lock`` installed at job start. Processing
  jobs run the same image so data preparation and evaluation see the libraries training sees.
- Serving (the temporary endpoints): the LMI/vLLM image from ``contracts/serving_images.py``.

Each is pinned; ``images.training|processing|serving`` in the environment's config replaces one
with a prebuilt image (docs/job-environment.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts import ecr, serving_images
from stacks.config_schema import ImagesConfig
from stacks.workflow.job_image import JOB_IMAGE

# The regions that publish the job image: those of AWS's deep learning containers, but for
# GovCloud (the "registries" of the SageMaker Python SDK's huggingface.json entry for training,
# 5.3.0, pytorch2.9.0). ISO regions are left out too.
DLC_ACCOUNTS: dict[str, str] = {
    region: account
    for region, account in ecr.DLC_ACCOUNTS.items()
    if not region.startswith("us-gov-")
}

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
    return ecr.image_uri(account, region, JOB_IMAGE.repository, JOB_IMAGE.tag)


def resolve_images(region: str, overrides: ImagesConfig) -> WorkflowImages:
    """The images for ``region``, with the environment's overrides applied."""
    training = overrides.training or training_image_uri(region)
    return WorkflowImages(
        training=training,
        processing=overrides.processing or training,
        serving=overrides.serving or serving_images.serving_image_uri(region),
    )


def repository_arn(image_uri: str, partition: str) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` -> the repository's ARN."""
    match = _IMAGE_URI.match(image_uri)
    if match is None:
        raise ValueError(f"not an ECR image URI: {image_uri!r}")
    return (
        f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    )
