"""GPUs per SageMaker hosting instance type: the engine shards the model over all of them."""

from __future__ import annotations

# GPU count by instance family and size, from the SageMaker pricing page. Sizes not listed have
# one GPU (ml.g5.xlarge .. ml.g5.16xlarge, ml.g6.xlarge .. ml.g6.16xlarge, ml.g4dn.*xlarge).
_MULTI_GPU: dict[str, int] = {
    "g4dn.12xlarge": 4,
    "g5.12xlarge": 4,
    "g5.24xlarge": 4,
    "g5.48xlarge": 8,
    "g6.12xlarge": 4,
    "g6.24xlarge": 4,
    "g6.48xlarge": 8,
    "g6e.12xlarge": 4,
    "g6e.24xlarge": 4,
    "g6e.48xlarge": 8,
    "p3.8xlarge": 4,
    "p3.16xlarge": 8,
    "p4d.24xlarge": 8,
    "p4de.24xlarge": 8,
    "p5.48xlarge": 8,
    "p5e.48xlarge": 8,
    "p5en.48xlarge": 8,
}
_GPU_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p3", "p4d", "p4de", "p5", "p5e", "p5en")


def gpus_per_instance(instance_type: str) -> int:
    """How many GPUs one ``ml.*`` hosting instance has.

    Raises:
        ValueError: the instance type has no GPU (the LMI/vLLM container needs one).
    """
    family_size = instance_type.removeprefix("ml.")
    family = family_size.split(".")[0]
    if family not in _GPU_FAMILIES:
        raise ValueError(
            f"{instance_type!r} has no GPU; the serving container needs "
            f"one of the GPU families {', '.join(_GPU_FAMILIES)}"
        )
    return _MULTI_GPU.get(family_size, 1)
