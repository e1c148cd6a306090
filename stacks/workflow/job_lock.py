"""``make lock``: re-resolves ``training_code/requirements.lock`` for the job image.

uv resolves ``training_code/requirements.in`` with every dependency for the image's Python and
platform (``job_image.JOB_IMAGE``), wheels only but for ``SOURCE_ONLY``, with torch held at the
image's version. The lock leaves out what the image ships for the job (``JobImage.shipped``:
torch, triton) and what only those bring (the CUDA libraries): the image has them, built
together. Versions already in the lock stay where they still fit (uv reads its output file as
preferences); ``make lock ARGS=--upgrade`` moves every one to the newest.

    python -m stacks.workflow.job_lock [--upgrade | --upgrade-package NAME ...]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stacks.workflow.job_image import JOB_IMAGE, JobImage

ROOT = Path(__file__).resolve().parents[2]
INPUT = ROOT / "training_code" / "requirements.in"
LOCK = ROOT / "training_code" / "requirements.lock"
# Published as a source distribution only (pure Python): the one package built into a wheel.
SOURCE_ONLY = ("rouge-score",)


def read_lock(text: str) -> dict[str, str]:
    """A lock's pins, name -> version; comment and blank lines skipped.

    Raises:
        ValueError: a line is not ``name==version``.
    """
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        if not separator or not name or not version or any(c in line for c in " ;@[<>!~"):
            raise ValueError(f"requirements.lock line {number}: {line!r} is not name==version")
        pins[name] = version
    return pins


def header(image: JobImage) -> str:
    """The lock's opening comment: what it was resolved for and how to re-resolve it."""
    return (
        "# The job libraries with every dependency, pinned: training_code/requirements.in\n"
        "# resolved for the job image (stacks/workflow/job_image.py)\n"
        f"#   {image.repository}:{image.tag}\n"
        f"# for CPython {image.python_version}, {image.platform}, torch {image.torch_version};\n"
        f"# wheels only, but {', '.join(SOURCE_ONLY)} (published as source only, pure Python).\n"
        "# torch, triton and what only they bring (the nvidia-* CUDA libraries) are left\n"
        "# out: the image has them. The local virtual environment installs these same\n"
        "# versions (requirements-ml.txt). Re-resolve with `make lock`; see\n"
        "# docs/job-environment.md.\n"
    )


def uv_command(image: JobImage, constraints: Path, output: Path, extra: list[str]) -> list[str]:
    """``uv pip compile`` for ``image``, one ``name==version  # via ...`` line per package."""
    command = [
        str(Path(sys.executable).with_name("uv")),
        "pip",
        "compile",
        str(INPUT),
        "--constraint",
        str(constraints),
        "--python-version",
        image.python_version,
        "--python-platform",
        image.platform,
        "--only-binary",
        ":all:",
    ]
    for package in SOURCE_ONLY:
        command += ["--no-binary", package]
    return [
        *command,
        "--annotation-style",
        "line",
        "--no-header",
        "--no-python-downloads",
        "--quiet",
        "--output-file",
        str(output),
        *extra,
    ]


def job_pins(compiled: str, shipped: frozenset[str]) -> list[str]:
    """The ``name==version`` lines of ``compiled`` (uv's line annotations) that the job needs
    beyond the image: packages the input reaches without going through ``shipped`` ones."""
    pins: dict[str, str] = {}
    parents: dict[str, set[str]] = {}
    for line in compiled.splitlines():
        requirement, _, via = line.partition("# via")
        if not requirement.strip():
            continue
        name = requirement.strip().split("==")[0]
        pins[name] = requirement.strip()
        parents[name] = {parent.strip() for parent in via.split(",") if parent.strip()}
    kept: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, by in parents.items():
            if name in kept or name in shipped:
                continue
            if any(parent.startswith("-r ") or parent in kept for parent in by):
                kept.add(name)
                grew = True
    return [pins[name] for name in sorted(kept)]


def main(argv: list[str]) -> int:
    """Writes the lock; returns uv's exit status."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch) / "image.txt"
        constraints.write_text(f"torch=={JOB_IMAGE.torch_version}\n")
        output = Path(scratch) / "compiled.txt"
        if LOCK.exists():
            shutil.copyfile(LOCK, output)  # the current pins, as uv's preferences
        result = subprocess.run(uv_command(JOB_IMAGE, constraints, output, argv), check=False)
        if result.returncode != 0:
            return result.returncode
        pins = job_pins(output.read_text(), JOB_IMAGE.shipped)
    LOCK.write_text(header(JOB_IMAGE) + "".join(f"{pin}\n" for pin in pins))
    print(f"{LOCK.relative_to(ROOT)}: {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
