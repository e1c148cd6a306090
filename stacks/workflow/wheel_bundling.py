"""How the job wheels' folder is filled at synth time: CDK local bundling that runs pip.

``DownloadWheels`` puts the wheels of ``training_code/requirements.lock`` for the job image's
Python and platform in the bundling's output folder (``pip download``, wheels only, never
Docker), builds the one library published only as source (``job_lock.SOURCE_ONLY``, pure
Python) into a wheel, and adds the lock. ``LockOnly`` is the local cloud's: the lock and a
README, no download.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import DockerImage, ILocalBundling

from stacks.workflow.job_image import JobImage
from stacks.workflow.job_lock import SOURCE_ONLY

LOCK_NAME = "requirements.lock"
README_NAME = "README.txt"
LOCAL_README = (
    "The local cloud runs its jobs in the project's virtual environment, which holds the "
    "locked libraries already: this folder has no wheels, and the jobs' offline install only "
    "checks that every locked version is installed.\n"
)


class WheelDownloadError(RuntimeError):
    """pip could not fetch the locked wheels while synthesizing."""


def pip_platforms(image: JobImage) -> list[str]:
    """pip's ``--platform`` values for the image: every manylinux its glibc runs.

    ``JobImage.platform`` is uv's ``x86_64-manylinux_2_35``. pip accepts only the platforms
    it is given ("use this option multiple times to specify multiple platforms supported by
    the target interpreter", pip's ``download --platform``), so each older manylinux is named,
    with the legacy aliases PEP 600 gives them (2014 = 2_17, 2010 = 2_12, 1 = 2_5).
    """
    arch, _, libc = image.platform.partition("-")
    glibc_minor = int(libc.rsplit("_", 1)[1])
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return platforms + [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc_minor]


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def locked_pins(lock: Path) -> list[str]:
    """The ``name==version`` lines of the lock."""
    lines = (line.split("#", 1)[0].strip() for line in lock.read_text().splitlines())
    return [line for line in lines if line]


def download_commands(pins: list[str], image: JobImage, output_dir: str) -> list[list[str]]:
    """The pip commands (without the interpreter) that put the pins' wheels in ``output_dir``.

    Wheels are downloaded for the image, never built, except the source-only libraries'.
    """
    source_only = {_normalised(name) for name in SOURCE_ONLY}
    binary = [pin for pin in pins if _normalised(pin.split("==")[0]) not in source_only]
    built = [pin for pin in pins if pin not in binary]
    commands = [
        [
            "pip", "download", "--progress-bar=off", "--no-deps", "--only-binary=:all:",
            *(f"--platform={platform}" for platform in pip_platforms(image)),
            f"--python-version={image.python_version}", "--implementation=cp",
            "--dest", output_dir, *binary,
        ]
    ]  # fmt: skip
    for pin in built:
        name = pin.split("==")[0]
        wheel = ["pip", "wheel", "--progress-bar=off", "--no-deps", f"--no-binary={name}"]
        commands.append([*wheel, "-w", output_dir, pin])
    return commands


@jsii.implements(ILocalBundling)
class DownloadWheels:
    """Local bundling: the lock's wheels for ``image``, and the lock."""

    def __init__(self, lock: Path, image: JobImage) -> None:
        self.lock = lock
        self.image = image

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None) -> bool:
        # jsii passes BundlingOptions as keyword-only arguments; none is used.
        for command in download_commands(locked_pins(self.lock), self.image, output_dir):
            # pip's own output goes to stderr: the CDK CLI reads the app's stdout.
            result = subprocess.run(
                [sys.executable, "-m", *command], stdout=sys.stderr, check=False
            )
            if result.returncode != 0:
                raise WheelDownloadError(
                    f"downloading the job wheels of {self.lock} failed (pip exit status "
                    f"{result.returncode}, its output above): `{' '.join(command)}`. A synth "
                    "that deploys to AWS needs PyPI; re-resolve the lock with `make lock` if a "
                    "version has no wheel for the job image"
                )
        shutil.copyfile(self.lock, Path(output_dir) / LOCK_NAME)
        return True


@jsii.implements(ILocalBundling)
class LockOnly:
    """Local bundling for the local cloud: the lock and a README, no download."""

    def __init__(self, lock: Path) -> None:
        self.lock = lock

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None) -> bool:
        shutil.copyfile(self.lock, Path(output_dir) / LOCK_NAME)
        (Path(output_dir) / README_NAME).write_text(LOCAL_README)
        return True
