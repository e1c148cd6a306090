"""One FailureReason line from a job's pip output: which locked package differs, and the fix.

Locally a job's Python is the project's venv, and its offline install (``--no-index
--find-links`` a ``wheels`` channel that holds no wheels here) is a dry run (``PIP_DRY_RUN``,
see ``Settings.job_env``). So pip answers "Requirement already satisfied" for every locked
version the venv has, and for one it lacks either fails with "No matching distribution found for
X==V" or, had a channel held the wheel, says "Would install X-V" (and lists it in its
``--report``, which ``--quiet`` does not silence). Either way the venv differs
from the lock, and the job is refused with one line naming the package, both versions and the
fix, instead of pip's page of output or a job that runs on other versions than AWS would.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

from localcloud.sagemaker.settings import JOB_LOCK, REPO_ROOT

SETUP_HINT = "run make setup"
_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_WOULD_INSTALL = re.compile(r"^Would install (.+)$")
# What pip prints while it retries an index it cannot reach.
_NO_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Network is unreachable|"
    r"Temporary failure in name resolution|Name or service not known"
)
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*([^;\s]*)")
_MAX_NAMED = 3


class PipWatch:
    """Reads a job's output lines and keeps what pip said about the packages."""

    def __init__(self) -> None:
        self.missing: list[str] = []
        self.would_install: list[str] = []
        self.network_failed = False
        self._report_stamps: dict[Path, int] = {}

    def observe(self, line: str) -> bool:
        """Records ``line``; True when it says pip would change the venv (end the job now)."""
        text = line.strip()
        if match := _NOT_FOUND.search(text):
            self.missing.append(match[1])
        elif match := _WOULD_INSTALL.match(text):
            pins = [_pin(item) for item in match[1].split()]
            self.would_install += [pin for pin in pins if pin not in self.would_install]
            return True
        elif _NO_NETWORK.search(text):
            self.network_failed = True
        return False

    def read_report(self, path: Path) -> bool:
        """Reads a ``--report`` pip wrote since the last call; True when it would install."""
        try:
            stamp = path.stat().st_mtime_ns
            if self._report_stamps.get(path) == stamp:
                return False
            self._report_stamps[path] = stamp
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            return False  # none yet, or pip is still writing it: the next call reads it
        pins = [
            f"{item['metadata']['name']}=={item['metadata']['version']}"
            for item in report.get("install") or []
        ]
        self.would_install += [pin for pin in pins if pin not in self.would_install]
        return bool(pins)

    def reason(self, *, isolated: bool) -> str | None:
        """The FailureReason, or None when pip said nothing about a package."""
        wanted = self.would_install or self.missing
        if not wanted:
            return None
        if isolated and self.network_failed and not self.would_install:
            return (
                "ClientError: pip could not reach a package index: a network-isolated job has "
                f"no network (No matching distribution found for {wanted[0]}); deliver the "
                "packages in an input channel and install with --no-index --find-links, or use "
                "an image that has them"
            )
        details = "; ".join(_difference(requirement) for requirement in wanted[:_MAX_NAMED])
        return (
            f"ClientError: the job environment differs from {_source(wanted[0])}: "
            f"{details}; {SETUP_HINT}"
        )


def _pin(name_version: str) -> str:
    """``liger-kernel-0.8.5`` (pip's "Would install" form) -> ``liger-kernel==0.8.5``."""
    name, _, version = name_version.rpartition("-")
    return f"{name}=={version}"


def _difference(requirement: str) -> str:
    match = _REQUIREMENT.match(requirement)
    name, spec = (match[1], match[2]) if match else (requirement, "")
    try:
        installed = f"{metadata.version(name)} is installed"
    except metadata.PackageNotFoundError:
        installed = "it is not installed"
    if spec.startswith("==") and "*" not in spec:
        return f"{name}=={spec[2:]} is locked, {installed}"
    return f"{name}{spec} is required, {installed}"


def _source(requirement: str) -> str:
    """The project's job lock when it asks the same of the package, else the job's own files."""
    wanted = _key(requirement)
    lines = JOB_LOCK.read_text().splitlines() if wanted and JOB_LOCK.is_file() else []
    if any(_key(line.strip()) == wanted for line in lines):
        return str(JOB_LOCK.relative_to(REPO_ROOT))
    return "the job's requirements"


def _key(requirement: str) -> tuple[str, str] | None:
    match = _REQUIREMENT.match(requirement)
    return (re.sub(r"[-_.]+", "-", match[1]).lower(), match[2]) if match else None
