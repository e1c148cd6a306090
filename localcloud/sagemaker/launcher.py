"""The command that starts one host's process: the job's own, or the toolkit bootstrap.

A process that needs namespaces (network isolation, a host name) or the training toolkit's
steps starts as ``python -m localcloud.sagemaker.toolkit <bootstrap.json>`` behind an
``unshare``/``nsenter`` prefix; it sets itself up inside and then becomes the job's command.
Any other process is the job's command itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localcloud.sagemaker import isolation
from localcloud.sagemaker.settings import REPO_ROOT
from localcloud.sagemaker.toolkit import Bootstrap

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


@dataclass(frozen=True)
class Namespaces:
    """Which namespaces one host's process starts in (see :mod:`isolation`).

    Attributes:
        network: a network of its own (loopback only).
        join: the pid whose network it joins instead (a later host of an isolated cluster).
        hosts_file: bound over ``/etc/hosts``, with the host name taken (multi-instance jobs).
    """

    network: bool = False
    join: int | None = None
    hosts_file: Path | None = None

    @property
    def isolated(self) -> bool:
        return self.network or self.join is not None


@dataclass(frozen=True)
class Launch:
    """One host's process as the local cloud starts it.

    Attributes:
        host: ``algo-1``, ...
        argv: the job's command.
        cwd: its working folder.
        sandbox: the host's ``/opt/ml``.
        namespaces: where it runs.
        toolkit: (``sagemaker_program``, ``sagemaker_submit_directory``) to run the training
            toolkit's steps first; None for a command that replaces the toolkit.
    """

    host: str
    argv: list[str]
    cwd: Path
    sandbox: Path
    namespaces: Namespaces = Namespaces()
    toolkit: tuple[str, str | None] | None = None

    def command(self, python: str, bootstrap_file: Path) -> tuple[list[str], Path]:
        """The argv and working folder to start (writing ``bootstrap_file`` when needed)."""
        ns = self.namespaces
        if not (self.toolkit or ns.isolated or ns.hosts_file):
            return list(self.argv), self.cwd
        program, submit = self.toolkit or (None, None)
        Bootstrap(
            argv=list(self.argv),
            cwd=str(self.cwd),
            sandbox=str(self.sandbox),
            program=program,
            submit_directory=submit,
            loopback=ns.network,
            hosts_file=str(ns.hosts_file) if ns.hosts_file else None,
            hostname=self.host if ns.hosts_file else None,
            outer={kind: isolation.namespace_id(kind) for kind in isolation.KINDS},
        ).write(bootstrap_file)
        hosts = ns.hosts_file is not None
        prefix = (
            isolation.join_network(ns.join, hosts=hosts)
            if ns.join is not None
            else isolation.new_namespaces(network=ns.network, hosts=hosts)
        )
        # Run from the repository so that ``-m localcloud...`` imports; the bootstrap then
        # moves to ``cwd`` before it becomes the job's command.
        return [*prefix, python, "-m", "localcloud.sagemaker.toolkit", str(bootstrap_file)], (
            REPO_ROOT
        )


def interpreter(argv: Sequence[str], python: str) -> list[str]:
    """Runs a leading ``python``/``python3``/``/usr/bin/python3`` with the project's Python."""
    argv = list(argv)
    if argv and _PYTHON.match(Path(argv[0]).name):
        argv[0] = python
    return argv


def hosts_file(path: Path, hosts: list[str]) -> Path:
    """Writes an ``/etc/hosts`` naming every host of a job on this machine's loopback."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    path.write_text("\n".join(lines + [f"127.0.0.1 {host}" for host in hosts]) + "\n")
    return path
