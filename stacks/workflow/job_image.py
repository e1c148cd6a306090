"""The job image: the one container that data preparation, training and evaluation run.

Its facts live here once. ``images.py`` builds the image's URI from them, ``make lock``
(``job_lock.py``) resolves ``training_code/requirements.lock`` for its Python, platform and
torch, and ``tests/job_environment`` checks every locked library against them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobImage:
    """An AWS Deep Learning Container and what the job libraries must fit in it.

    Attributes:
        repository: ECR repository in the DLC accounts of ``images.DLC_ACCOUNTS``.
        tag: the versioned tag (``-vX.Y``), which names one release of the image.
        digest: the manifest digest of that release, to check a pulled image against.
        python_version: ``major.minor`` of the image's interpreter.
        python_full_version: the full version, for ``python_full_version`` markers.
        platform: the ``uv pip compile --python-platform`` the image's wheels must fit
            (x86_64, glibc of its Ubuntu).
        torch_version: the torch the image ships; the lock leaves torch to the image.
        cuda_version: the CUDA toolkit the image ships.
        shipped: distributions the job uses as the image ships them, so the lock leaves them
            out: torch with its triton (built together with CUDA) and boto3/botocore.
    """

    repository: str
    tag: str
    digest: str
    python_version: str
    python_full_version: str
    platform: str
    torch_version: str
    cuda_version: str
    shipped: frozenset[str]

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values inside the image, to evaluate a library's requirements."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python_full_version,
            "os_name": "posix",
            "platform_machine": "x86_64",
            "platform_python_implementation": "CPython",
            "platform_system": "Linux",
            "python_full_version": self.python_full_version,
            "python_version": self.python_version,
            "sys_platform": "linux",
        }


# AWS's Hugging Face PyTorch training DLC, release v1.0-hf-5.3.0-pt-2.9.0-tr-gpu-py312 of
# github.com/aws/deep-learning-containers. Its Dockerfile
# (huggingface/pytorch/training/docker/2.9/py3/cu130/Dockerfile.gpu) adds transformers 5.3.0,
# datasets 4.5.0, boto3 and the sagemaker-training toolkit to
# pytorch-training:2.9.0-gpu-py312-cu130-ubuntu22.04-sagemaker, whose Dockerfile
# (pytorch/training/docker/2.9/py3/cu130/Dockerfile.gpu) installs Python 3.12.10, torch 2.9.0,
# triton and flash-attn 2.8.3 on Ubuntu 22.04 (glibc 2.35, hence manylinux_2_35). The SageMaker
# Python SDK lists the same image in image_uri_config/huggingface.json (training, transformers
# 5.3.0, pytorch2.9.0, py312, container_version cu130-ubuntu22.04). On torch 2.9.0 the fast path
# keeps flash-attn but not PyTorch's varlen kernel (torch >= 2.10): see docs/job-environment.md.
JOB_IMAGE = JobImage(
    repository="huggingface-pytorch-training",
    tag="2.9.0-transformers5.3.0-gpu-py312-cu130-ubuntu22.04-v1.0",
    digest="sha256:e380d949a9ffd5f316e012304491122ccae740c32ab94d7d0b20e90bbe7f5ae0",
    python_version="3.12",
    python_full_version="3.12.10",
    platform="x86_64-manylinux_2_35",
    torch_version="2.9.0",
    cuda_version="13.0",
    shipped=frozenset({"torch", "triton", "boto3", "botocore"}),
)
