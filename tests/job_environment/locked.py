"""The job lock's pins and the installed distributions they name, shared by these tests."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

from packaging.utils import canonicalize_name

from stacks.workflow.job_lock import LOCK, read_lock

LOCKED: dict[str, str] = read_lock(LOCK.read_text())


def installed(name: str) -> metadata.Distribution:
    """The installed distribution of a locked package, which must be at the locked version: the
    metadata tests read it in place of the wheel the job installs."""
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise AssertionError(
            f"{name}=={LOCKED[name]} is locked but not installed here: run make setup"
        ) from None
    if distribution.version != LOCKED[name]:
        raise AssertionError(
            f"{name}: the lock has {LOCKED[name]}, this environment {distribution.version}; "
            "run make setup (or make lock if the environment is right)"
        )
    return distribution


def canonical(names: Iterable[str]) -> set[str]:
    """Distribution names in their canonical form (``PyYAML`` -> ``pyyaml``)."""
    return {canonicalize_name(name) for name in names}
