"""docs/job-environment.md states the image's facts as stacks/workflow/job_image.py holds them."""

from __future__ import annotations

import re
from pathlib import Path

from stacks.workflow.job_image import JOB_IMAGE

DOC = Path(__file__).resolve().parents[2] / "docs" / "job-environment.md"


def _row(name: str) -> str:
    match = re.search(rf"^\| {name} \| (.+) \|$", DOC.read_text(), re.MULTILINE)
    assert match, f"docs/job-environment.md has no '{name}' row in its image table"
    return match.group(1)


def test_the_image_table_names_the_pinned_image():
    assert f"`{JOB_IMAGE.repository}`" in _row("repository")
    assert f"`{JOB_IMAGE.tag}`" in _row("tag")
    assert _row("digest") == f"`{JOB_IMAGE.digest}`"
    assert _row("Python") == f"CPython {JOB_IMAGE.python_full_version}"
    assert _row("torch").startswith(f"{JOB_IMAGE.torch_version},")
    assert _row("CUDA").startswith(f"{JOB_IMAGE.cuda_version} ")
