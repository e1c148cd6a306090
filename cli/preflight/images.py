"""The job image and the serving image can be found where SageMaker will pull them.

The URIs are the ones the stacks resolve (``stacks/workflow/images.py``, with the environment's
``images.*`` overrides). ECR's BatchGetImage in the image's own registry says whether the tag or
digest exists. AWS's Deep Learning Container repositories let any account pull; a denial here
means this caller may not look (its own IAM policy, or a private registry's policy), which does
not say whether SageMaker's execution role may pull.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from cli.preflight.findings import Finding, cannot_tell, denial, denied, error_code, ok, problem
from stacks.workflow.images import WorkflowImages, repository_arn

# BatchGetImage failure codes that say the image is not there (the others: KMS, upstream).
_MISSING = {"ImageNotFound", "InvalidImageTag", "InvalidImageDigest", "ImageTagDoesNotMatchDigest"}
# Answer with the manifest whatever its kind, rather than failing on one ECR cannot convert.
_MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


def image_uses(images: WorkflowImages) -> dict[str, list[str]]:
    """Each distinct image URI with the config keys (``images.<use>``) that resolve to it."""
    uses: dict[str, list[str]] = {}
    for use in ("training", "processing", "serving"):
        uses.setdefault(getattr(images, use), []).append(use)
    return uses


def check_images(ecr_in: Callable[[str], Any], images: WorkflowImages) -> list[Finding]:
    """One finding per distinct image; ``ecr_in(region)`` is an ECR client of that region."""
    return [_check_image(ecr_in, uri, uses) for uri, uses in image_uses(images).items()]


def _check_image(ecr_in: Callable[[str], Any], uri: str, uses: list[str]) -> Finding:
    # arn:<partition>:ecr:<region>:<account>:repository/<name>
    _, _, _, region, account, resource = repository_arn(uri, "aws").split(":", 5)
    repository = resource.removeprefix("repository/")
    reference = uri.split("/", 1)[1].removeprefix(repository)
    image_id = (
        {"imageDigest": reference[1:]} if reference.startswith("@") else {"imageTag": reference[1:]}
    )
    subject = f"{' and '.join(uses)} image {uri}"
    fix = (
        f"set images.{uses[0]} in config/environments.yaml to an image that exists in the "
        "environment's region, or choose a region it is published in"
    )
    try:
        answer = ecr_in(region).batch_get_image(
            registryId=account,
            repositoryName=repository,
            imageIds=[image_id],
            acceptedMediaTypes=_MANIFEST_TYPES,
        )
    except ClientError as error:
        if error_code(error) == "RepositoryNotFoundException":
            return problem(
                "image", subject, f"registry {account} has no repository {repository}", fix
            )
        if denied(error):
            return cannot_tell(
                "image",
                subject,
                f"{denial(error)}: this profile may not look; SageMaker pulls as the "
                "execution role",
            )
        raise
    if answer.get("images"):
        return ok("image", subject, f"found in {region}")
    (failure,) = answer.get("failures") or [{}]
    code = failure.get("failureCode", "")
    reason = f"{code}: {failure.get('failureReason', '')}".strip(": ")
    if code in _MISSING:
        return problem("image", subject, f"not in {repository} ({reason})", fix)
    return cannot_tell("image", subject, f"ECR could not say ({reason or 'no answer'})")
