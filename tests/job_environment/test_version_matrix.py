"""Every locked library fits the job image: its own Requires-Python admits the image's Python,
and its torch requirement, if any, the image's torch. A library's ``torch`` extra counts too:
it says which torch the library works with (transformers' torch>=2.6: below it, transformers
runs without PyTorch). The metadata read is the installed
distribution's, which must be the locked version (so this environment holds the lock too;
only torch differs: 2.13.0 CPU here, the image's own in the jobs, docs/job-environment.md)."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from stacks.workflow.job_image import JOB_IMAGE
from tests.job_environment.locked import LOCKED, installed

# Markers as inside the image: plain requirements, and those of a "torch" extra.
IMAGE_MARKERS = [{**JOB_IMAGE.marker_environment(), "extra": extra} for extra in ("", "torch")]


@pytest.mark.parametrize("name", sorted(LOCKED))
def test_this_environment_holds_the_locked_version(name):
    installed(name)


@pytest.mark.parametrize("name", sorted(LOCKED))
def test_requires_python_admits_the_image_python(name):
    requires_python = installed(name).metadata["Requires-Python"]
    if requires_python:
        assert SpecifierSet(requires_python).contains(JOB_IMAGE.python_full_version), (
            f"{name}=={LOCKED[name]} declares Requires-Python {requires_python}, which the job "
            f"image's Python {JOB_IMAGE.python_full_version} does not meet"
        )


def torch_requirements(name: str) -> list[Requirement]:
    """The distribution's torch requirements that apply inside the image."""
    requirements = (Requirement(line) for line in installed(name).requires or ())
    return [
        requirement
        for requirement in requirements
        if canonicalize_name(requirement.name) == "torch"
        and (
            requirement.marker is None
            or any(requirement.marker.evaluate(markers) for markers in IMAGE_MARKERS)
        )
    ]


@pytest.mark.parametrize("name", sorted(LOCKED))
def test_the_torch_requirement_admits_the_image_torch(name):
    for requirement in torch_requirements(name):
        assert requirement.specifier.contains(JOB_IMAGE.torch_version, prereleases=True), (
            f"{name}=={LOCKED[name]} requires {requirement}, which the job image's torch "
            f"{JOB_IMAGE.torch_version} does not meet"
        )


def test_the_libraries_that_build_on_torch_are_checked():
    checked = {name for name in LOCKED if torch_requirements(name)}
    assert {"accelerate", "bitsandbytes", "liger-kernel", "peft", "transformers"} <= checked
