"""Linux namespaces for a job's process tree: no network, and a host name per instance.

A SageMaker job with ``EnableNetworkIsolation`` runs isolated: "No inbound or outbound network
calls can be made, except for calls between peers within a training cluster for distributed
training", while SageMaker itself "downloads and uploads customer data and model artifacts"
(botocore's SageMaker model, CreateTrainingJob ``EnableNetworkIsolation``). Locally a job gets
the same from a new network namespace (``unshare --net``): it holds only its own loopback, so
the local cloud, the machine's network and any DNS server are out of reach, while the local
cloud, outside, stages the job's data as before.

The instances of a multi-instance job each get a mount and UTS namespace, in which
``/etc/hosts`` names every host (``algo-1``, ``algo-2``, ...) and the host name is the
instance's own, so the names in ``SM_HOSTS`` resolve as they do on the container network.

Where the machine does not allow namespaces (not Linux, no ``unshare``, user namespaces
disabled), :func:`support` says why and the callers fall back, saying so in the job's log.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

LOG = logging.getLogger(__name__)
UNSHARE = "unshare"
NSENTER = "nsenter"
_PROBE_TIMEOUT_S = 10
_JOIN_TIMEOUT_S = 30
# The namespaces a launched process leaves; the toolkit checks it did before it changes them.
KINDS = ("net", "mnt", "uts")


@dataclass(frozen=True)
class Support:
    """What this machine allows.

    Attributes:
        problem: why namespaces cannot be used here, or None when they can.
        map_root: not running as root: a user namespace maps this user to root inside.
    """

    problem: str | None
    map_root: bool


@functools.cache
def support() -> Support:
    """Probes once whether ``unshare`` can make network, mount and UTS namespaces here."""
    found = _probe()
    if found.problem:
        LOG.warning("jobs run without Linux namespaces: %s", found.problem)
    return found


def _probe() -> Support:
    map_root = os.geteuid() != 0
    if not sys.platform.startswith("linux"):
        return Support(f"namespaces are a Linux feature; this is {sys.platform}", map_root)
    missing = [tool for tool in (UNSHARE, NSENTER) if shutil.which(tool) is None]
    if missing:
        return Support(f"{' and '.join(missing)} (util-linux) not found on PATH", map_root)
    probe = [UNSHARE, *_flags(network=True, hosts=True, map_root=map_root), "true"]
    try:
        subprocess.run(probe, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=True)
    except subprocess.CalledProcessError as error:
        said = (error.stderr or "").strip().splitlines()
        return Support(f"`{' '.join(probe)}` failed: {said[-1] if said else error}", map_root)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Support(f"`{' '.join(probe)}` failed: {error}", map_root)
    return Support(None, map_root)


def new_namespaces(*, network: bool, hosts: bool) -> list[str]:
    """The command prefix that starts a process in new namespaces ([] when none are asked).

    Args:
        network: a network namespace of its own (network isolation, or the first host of an
            isolated multi-instance job, whose network the other hosts join).
        hosts: a mount and UTS namespace, for the instance's ``/etc/hosts`` and host name.
    """
    if not (network or hosts):
        return []
    return [UNSHARE, *_flags(network=network, hosts=hosts, map_root=support().map_root)]


def join_network(pid: int, *, hosts: bool) -> list[str]:
    """The command prefix that starts a process in the network namespace of ``pid``.

    The hosts of an isolated multi-instance job share one network without a way out, as the
    instances of an isolated job still reach each other on AWS.

    Raises:
        RuntimeError: ``pid`` did not enter a namespace of its own within 30 s.
    """
    deadline = time.monotonic() + _JOIN_TIMEOUT_S
    while namespace_id("net", pid) == namespace_id("net"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"process {pid} did not enter its network namespace")
        time.sleep(0.05)
    user = ["--user", "--preserve-credentials"] if support().map_root else []
    prefix = [NSENTER, f"--target={pid}", "--net", *user, "--"]
    if hosts:
        # Root in the joined user namespace already: no second user mapping.
        prefix += [UNSHARE, *_flags(network=False, hosts=True, map_root=False)]
    return prefix


def namespace_id(kind: str, pid: int | str = "self") -> str:
    """The identity of a process's namespace of ``kind`` (``"net:[4026531840]"``), or ""."""
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return ""


def _flags(*, network: bool, hosts: bool, map_root: bool) -> list[str]:
    flags = ["--net"] if network else []
    if hosts:
        # Private propagation: the /etc/hosts bind mount stays inside the job.
        flags += ["--mount", "--uts", "--propagation", "private"]
    if map_root:
        flags.append("--map-root-user")
    return [*flags, "--"]


def enter(*, outer: dict[str, str], loopback: bool, hosts_file: str | None, hostname: str | None):
    """Sets up the namespaces this process was started in (called inside them, as root there).

    Args:
        outer: the launcher's namespace ids (:func:`namespace_id`); nothing is changed in a
            namespace this process still shares with it, so the machine's own network, mounts
            and host name are never touched.
        loopback: bring ``lo`` up (a new network namespace starts with it down; a container has
            its loopback, and single-host torchrun rendezvous on it).
        hosts_file: bind-mounted over ``/etc/hosts``.
        hostname: the host name to take.

    Raises:
        RuntimeError: a change was asked in a namespace shared with the launcher.
    """
    if loopback:
        _require_own("net", outer)
        _loopback_up()
    if hosts_file:
        _require_own("mnt", outer)
        _bind_mount(hosts_file, "/etc/hosts")
    if hostname:
        _require_own("uts", outer)
        socket.sethostname(hostname)


def _require_own(kind: str, outer: dict[str, str]) -> None:
    if namespace_id(kind) in ("", outer.get(kind)):
        raise RuntimeError(f"not in a {kind} namespace of its own: the local cloud changes nothing")


def _loopback_up() -> None:
    # SIOCGIFFLAGS / SIOCSIFFLAGS on "lo" with IFF_UP (linux/sockios.h, linux/if.h).
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh", b"lo", flags | iff_up))


def _bind_mount(source: str, target: str) -> None:
    ms_bind = 4096  # linux/mount.h
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(source.encode(), target.encode(), None, ms_bind, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"bind mount of {source} over {target}: {os.strerror(errno)}")
