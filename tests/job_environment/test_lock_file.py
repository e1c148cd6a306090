"""training_code/requirements.lock: pinned lines only, resolved for the pinned job image, the
image's own torch left to it, and in step with its input."""

from __future__ import annotations

import itertools
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from stacks.workflow.job_image import JOB_IMAGE
from stacks.workflow.job_lock import INPUT, LOCK, header, job_pins, read_lock, uv_command
from tests.job_environment.locked import LOCKED


def test_every_line_is_a_comment_or_a_canonical_name_and_version():
    for name, version in LOCKED.items():
        assert name == canonicalize_name(name), (
            f"{name}: write it as uv does ({canonicalize_name(name)})"
        )
        assert str(Version(version)) == version, f"{name}=={version}: not a normalised version"


def test_a_range_or_marker_is_refused():
    for line in ("torch>=2.9", "numpy==2.4.6; python_version >= '3.12'", "peft"):
        try:
            read_lock(f"# header\n{line}\n")
        except ValueError as error:
            assert "line 2" in str(error) and line in str(error)
        else:
            raise AssertionError(f"{line!r} was accepted as a pin")


def test_torch_triton_and_the_cuda_libraries_are_left_to_the_image():
    left_to_image = {
        name
        for name in LOCKED
        if name in JOB_IMAGE.shipped or name.startswith("nvidia-") or name in {"torch", "triton"}
    }
    assert not left_to_image, (
        f"{sorted(left_to_image)} must come from the job image, not the lock: run make lock"
    )


def test_the_lock_was_resolved_for_the_pinned_image():
    assert LOCK.read_text().startswith(header(JOB_IMAGE)), (
        "training_code/requirements.lock was resolved for another image than "
        "stacks/workflow/job_image.py pins: run make lock"
    )


def test_every_direct_requirement_is_locked_at_its_pin():
    for line in INPUT.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in LOCKED, f"{requirement} (requirements.in) is not locked: run make lock"
        assert requirement.specifier.contains(LOCKED[name], prereleases=True), (
            f"requirements.in asks {requirement}, the lock has {name}=={LOCKED[name]}: "
            "run make lock"
        )


def test_uv_resolves_for_the_image_python_platform_and_torch(tmp_path: Path):
    command = uv_command(JOB_IMAGE, tmp_path / "c.txt", tmp_path / "out.txt", ["--upgrade"])
    pairs = dict(itertools.pairwise(command))
    assert pairs["--python-version"] == JOB_IMAGE.python_version
    assert pairs["--python-platform"] == JOB_IMAGE.platform
    assert pairs["--only-binary"] == ":all:"
    assert pairs["--no-binary"] == "rouge-score"
    assert command[-1] == "--upgrade"


COMPILED = """\
filelock==4.3.2  # via huggingface-hub, torch
huggingface-hub==2.5.0  # via transformers
liger-kernel==0.8.5  # via -r training_code/requirements.in
mpmath==1.3.0  # via sympy
nvidia-cublas-cu12==12.8.4.1  # via nvidia-cudnn-cu12, torch
nvidia-cudnn-cu12==9.10.2.21  # via torch
sympy==1.14.0  # via torch
torch==2.9.0  # via -c /tmp/image.txt, liger-kernel
transformers==5.23.0  # via -r training_code/requirements.in
triton==3.5.0  # via liger-kernel, torch
"""


def test_what_only_torch_and_triton_bring_is_left_out():
    assert job_pins(COMPILED, frozenset({"torch", "triton"})) == [
        "filelock==4.3.2",  # huggingface-hub needs it too
        "huggingface-hub==2.5.0",
        "liger-kernel==0.8.5",
        "transformers==5.23.0",
    ]
