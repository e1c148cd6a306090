"""Facts about SageMaker instance types that change how a job may be configured."""

from __future__ import annotations

import re

# Families whose instances carry NVMe instance storage without a "d" in the family name.
_LOCAL_STORAGE_FAMILIES = frozenset(
    {"g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2"}
)
# m5d, c5d, r5d, g4dn, p3dn, m6id, ...: a "d" after the generation digit means local NVMe.
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_instance_storage(instance_type: str) -> bool:
    """True when ``ml.<family>.<size>`` has local NVMe storage.

    SageMaker rejects ``VolumeKmsKeyId`` for such instances (their local volumes are encrypted
    by the hardware), so jobs on them must leave it out.
    """
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family in _LOCAL_STORAGE_FAMILIES or bool(_D_FAMILY.match(family))
