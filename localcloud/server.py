"""Start, find and stop the local cloud: a patched moto server in a process of its own.

    from localcloud.server import start

    with start() as cloud:                      # a free port, state in ./.localcloud
        boto3.client("s3", endpoint_url=cloud.endpoint_url, ...)
        subprocess.run([...], env={**os.environ, **cloud.env()})

The server process (``python -m localcloud.server_process``) leads its own process group;
every job it runs is its descendant. ``LocalCloud.stop()`` ends all of them. If the process that
started the server dies without stopping it (SIGTERM, SIGKILL), the server notices within a
second and stops itself, so nothing is left running. ``python -m localcloud start|stop|status``
uses the same functions with a server that outlives the command (``detach=True``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from localcloud.processes import alive, kill_tree

ACCOUNT_ID = "123456789012"  # moto's default account: STS reports it, the CDK CLI deploys to it
REGION = "us-east-1"
STATE_FILE = "server.json"
LOG_FILE = "server.log"
STATE_DIR_ENV = "LOCALCLOUD_STATE_DIR"
START_TIMEOUT_S = 60.0
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LocalCloud:
    """A running local cloud: where it listens, and how to stop it."""

    port: int
    pid: int
    state_dir: Path
    region: str = REGION
    account_id: str = ACCOUNT_ID
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def endpoint_url(self) -> str:
        # "localhost", not 127.0.0.1: moto recognises only this host in S3 template URLs.
        return f"http://localhost:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.state_dir / LOG_FILE

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs, the AWS CLI and the CDK CLI here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DEFAULT_ACCOUNT": self.account_id,
            "CDK_DEFAULT_REGION": self.region,
        }

    def running(self) -> bool:
        """Whether the server process is alive and answering."""
        return alive(self.pid) and _answers(self.endpoint_url)

    def stop(self) -> None:
        """Stop the server and every process it started (idempotent)."""
        kill_tree(self.pid)
        if self._process is not None:
            self._process.wait(timeout=10)
        state = self.state_dir / STATE_FILE
        with contextlib.suppress(FileNotFoundError, ValueError):
            if json.loads(state.read_text())["pid"] == self.pid:
                state.unlink()

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def default_state_dir() -> Path:
    """``$LOCALCLOUD_STATE_DIR`` or ``./.localcloud``."""
    return Path(os.environ.get(STATE_DIR_ENV, ".localcloud")).resolve()


def find(state_dir: Path | None = None) -> LocalCloud | None:
    """The server recorded in ``state_dir`` if its process is still alive, else None."""
    state_dir = Path(state_dir or default_state_dir()).resolve()
    try:
        state = json.loads((state_dir / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not alive(state["pid"]):
        return None
    return LocalCloud(port=state["port"], pid=state["pid"], state_dir=state_dir)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(endpoint_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint_url}/moto-api/config", timeout=2) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def start(
    port: int | None = None, state_dir: Path | None = None, *, detach: bool = False
) -> LocalCloud:
    """Start a local cloud server and wait until it answers.

    Args:
        port: TCP port on localhost (default: a free one).
        state_dir: Where the pid/port file, ``server.log`` and job files go
            (default: ``$LOCALCLOUD_STATE_DIR`` or ``./.localcloud``).
        detach: Keep running after this process exits (the CLI's ``start``); otherwise the
            server stops itself when this process ends.

    Raises:
        RuntimeError: A server already runs from ``state_dir``, or this one did not come up.
    """
    state_dir = Path(state_dir or default_state_dir()).resolve()
    existing = find(state_dir)
    if existing is not None:
        raise RuntimeError(
            f"a local cloud already runs from {state_dir} at {existing.endpoint_url} "
            f"(pid {existing.pid}): use it, or stop it with `python -m localcloud stop`"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    port = port or free_port()
    command = [sys.executable, "-m", "localcloud.server_process", "--port", str(port)]
    command += ["--state-dir", str(state_dir)]
    if not detach:
        command += ["--parent-pid", str(os.getpid())]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
    with open(state_dir / LOG_FILE, "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=state_dir,
        )
    cloud = LocalCloud(port=port, pid=process.pid, state_dir=state_dir, _process=process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if (state_dir / STATE_FILE).is_file() and _answers(cloud.endpoint_url):
            return cloud
        time.sleep(0.2)
    cloud.stop()
    tail = "\n".join(cloud.log_file.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"the local cloud did not start on port {port}; {cloud.log_file}:\n{tail}")
