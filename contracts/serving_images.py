"""The GPU serving container: which image, pinned per region, and the settings it needs.

The evaluation endpoint and the persistent serving endpoint both run AWS's Large Model
Inference (LMI) container with its vLLM async engine (continuous batching, paged KV cache).
It loads the uncompressed model directory that training writes (safetensors + tokenizer +
chat template), which SageMaker copies to ``/opt/ml/model`` from the S3 prefix given as the
model's ``ModelDataSource``. LMI answers ``POST /invocations`` in the chat-completions shape
whenever the body has ``messages`` (see docs/serving.md), so no handler code ships with it.

TGI is not used: AWS and Hugging Face have put it in maintenance mode.

The CDK stacks import this module at synth time::

    from contracts.serving_images import serving_environment, serving_image_uri

    image = serving_image_uri(stack.region)
    env = serving_environment(max_model_len=4096, max_concurrency=32, tensor_parallel_degree=1)
"""

from __future__ import annotations

from contracts.ecr import DLC_ACCOUNTS, image_uri

# LMI V18 (DJL-Serving 0.36.0, vLLM 0.12.0), released 2025-12-15. cu128 rather than the later
# cu129/cu130 builds: those need a newer driver than ml.g5 (A10G) hosts have.
LMI_REPOSITORY = "djl-inference"
LMI_IMAGE_TAG = "0.36.0-lmi18.0.0-cu128"
VLLM_VERSION = "0.12.0"

# The libraries in that image that read the model folder, so tests/serving_compat can load every
# export with them (the Makefile installs them beside the venv's torch). transformers is pinned in
# djl-serving's serving/docker/lmi-container-requirements.txt on branch 0.36.0-lmi18-dlc (commit
# d08744cb, "Upgrade vllm to 0.12.0"). tokenizers and huggingface-hub are unpinned there: these
# are the newest releases, on the image's release date, within transformers 4.57.1's own ranges
# (tokenizers>=0.22.0,<=0.23.0; huggingface-hub>=0.34.0,<1.0).
SERVING_TRANSFORMERS_VERSION = "4.57.1"
SERVING_TOKENIZERS_VERSION = "0.22.1"
SERVING_HUGGINGFACE_HUB_VERSION = "0.36.0"
SERVING_LIBRARIES = (
    f"transformers=={SERVING_TRANSFORMERS_VERSION}",
    f"tokenizers=={SERVING_TOKENIZERS_VERSION}",
    f"huggingface-hub=={SERVING_HUGGINGFACE_HUB_VERSION}",
)

# Regions not listed have no LMI image.
ECR_ACCOUNTS = DLC_ACCOUNTS

# Where SageMaker puts the files of the model's ModelDataSource inside the container.
MODEL_PATH_IN_CONTAINER = "/opt/ml/model"

# Loading a 7-8B model takes minutes; the endpoint config's
# ContainerStartupHealthCheckTimeoutInSeconds must be at least this.
MODEL_LOADING_TIMEOUT_S = 900


def serving_image_uri(region: str) -> str:
    """The pinned LMI (vLLM) image for ``region``.

    Raises:
        ValueError: if AWS publishes no LMI image in that region.
    """
    account = ECR_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(
            f"no LMI serving image is published in region {region!r}; "
            f"choose one of: {', '.join(sorted(ECR_ACCOUNTS))}"
        )
    return image_uri(account, region, LMI_REPOSITORY, LMI_IMAGE_TAG)


def _positive(name: str, value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return str(value)


def serving_environment(
    max_model_len: int, max_concurrency: int, tensor_parallel_degree: int
) -> dict[str, str]:
    """The container environment for serving one model directory with LMI + vLLM.

    Args:
        max_model_len: prompt + generated tokens one request may use; longer ones get a 400.
        max_concurrency: sequences the engine decodes at once (vLLM ``max_num_seqs``);
            further requests wait in LMI's queue.
        tensor_parallel_degree: GPUs to shard the model over, normally every GPU on the
            instance (1 on ml.g5.2xlarge, 4 on ml.g5.12xlarge, 8 on ml.p4d/p5).

    Raises:
        ValueError: naming the argument that is not a positive integer.
    """
    return {
        "HF_MODEL_ID": MODEL_PATH_IN_CONTAINER,
        # The async vLLM handler is LMI's recommended (and, from V17, default) vLLM path.
        "OPTION_ASYNC_MODE": "true",
        "OPTION_ROLLING_BATCH": "disable",
        "OPTION_ENTRYPOINT": "djl_python.lmi_vllm.vllm_async_service",
        "OPTION_MAX_MODEL_LEN": _positive("max_model_len", max_model_len),
        "OPTION_MAX_ROLLING_BATCH_SIZE": _positive("max_concurrency", max_concurrency),
        "OPTION_TENSOR_PARALLEL_DEGREE": _positive(
            "tensor_parallel_degree", tensor_parallel_degree
        ),
        "OPTION_MODEL_LOADING_TIMEOUT": str(MODEL_LOADING_TIMEOUT_S),
        # The endpoint goes Failed at once on a bad model instead of retrying until timeout.
        "SERVING_FAIL_FAST": "true",
    }
