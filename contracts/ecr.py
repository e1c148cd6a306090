"""Where AWS publishes its deep learning containers, and the URI of an image there.

The accounts are the "registries" that the SageMaker Python SDK's ``image_uri_config`` keeps for
the Hugging Face training and djl-lmi images, the same accounts as the "Region Availability"
table of aws/deep-learning-containers ``available_images.md``.
"""

from __future__ import annotations

_DLC_ACCOUNT = "763104351884"
DLC_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": _DLC_ACCOUNT,
    "ap-northeast-2": _DLC_ACCOUNT,
    "ap-northeast-3": "364406365360",
    "ap-south-1": _DLC_ACCOUNT,
    "ap-southeast-1": _DLC_ACCOUNT,
    "ap-southeast-2": _DLC_ACCOUNT,
    "ap-southeast-3": "907027046896",
    "ca-central-1": _DLC_ACCOUNT,
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": _DLC_ACCOUNT,
    "eu-north-1": _DLC_ACCOUNT,
    "eu-south-1": "692866216735",
    "eu-west-1": _DLC_ACCOUNT,
    "eu-west-2": _DLC_ACCOUNT,
    "eu-west-3": _DLC_ACCOUNT,
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "sa-east-1": _DLC_ACCOUNT,
    "us-east-1": _DLC_ACCOUNT,
    "us-east-2": _DLC_ACCOUNT,
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-west-1": _DLC_ACCOUNT,
    "us-west-2": _DLC_ACCOUNT,
}


def image_uri(account: str, region: str, repository: str, tag: str) -> str:
    """``repository:tag`` in ``account``'s ECR registry of ``region`` (China's own domain)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{repository}:{tag}"
