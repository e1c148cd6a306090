"""One model served by the project's local server: the local stand-in for an endpoint's instance."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from localcloud.iam import credentials
from localcloud.iam.credentials import SAGEMAKER
from localcloud.sagemaker import s3io
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import OptMl, rewrite
from localcloud.sagemaker.process import ManagedProcess
from localcloud.sagemaker.settings import Settings

HOST = "127.0.0.1"
_PING_EVERY_S = 0.5


class DeploymentError(Exception):
    """The model could not be served; the message is the endpoint's FailureReason."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def fetch_model(s3: Any, container: dict[str, Any], dest: Path) -> None:
    """Copies a model's artifacts where the server will load them, as SageMaker does.

    ``ModelDataSource.S3DataSource`` with ``CompressionType: None`` is an uncompressed prefix (or
    one object with ``S3DataType: S3Object``); ``Gzip`` or a ``ModelDataUrl`` ending in
    ``.tar.gz`` is unpacked. A container without model data gets an empty folder.
    """
    dest.mkdir(parents=True, exist_ok=True)
    source = (container.get("ModelDataSource") or {}).get("S3DataSource")
    if source is not None:
        uri, compressed = source["S3Uri"], source.get("CompressionType") == "Gzip"
    elif container.get("ModelDataUrl"):
        uri = container["ModelDataUrl"]
        compressed = uri.endswith(".tar.gz")
    else:
        return
    if compressed:
        s3io.download_and_extract(s3, uri, dest)
    else:
        s3io.download_prefix(s3, uri, dest)


class Deployment:
    """Downloads one container's model into ``sandbox`` and runs the local server on it."""

    def __init__(
        self,
        settings: Settings,
        sandbox: OptMl,
        container: dict[str, Any],
        variant: str,
        region: str,
        sink: LogSink,
        role_arn: str | None = None,
    ):
        self.settings = settings
        # SageMaker fetches the model and runs the container with the model's execution role.
        self.keys = credentials.for_role(role_arn, SAGEMAKER, "SageMaker")
        self.sandbox = sandbox
        self.container = container
        self.variant = variant
        self.region = region
        self.sink = sink
        self.port = 0
        self.process: ManagedProcess | None = None

    def launch(self) -> None:
        """Fetches the model and starts the server (not yet ready: see :meth:`wait_ready`)."""
        server = self.settings.endpoint_server
        if not server.is_file():
            raise DeploymentError(f"the local serving script {server} does not exist")
        self.sandbox.model_dir.mkdir(parents=True, exist_ok=True)
        try:
            fetch_model(
                self.settings.client("s3", self.region, self.keys),
                self.container,
                self.sandbox.model_dir,
            )
        except Exception as error:
            raise DeploymentError(
                f"Failed to download model data for container: {type(error).__name__}: {error}"
            ) from error
        self.port = free_port()
        argv = [
            self.settings.python,
            str(server),
            "--model-dir",
            str(self.sandbox.model_dir),
            "--port",
            str(self.port),
            "--host",
            HOST,
        ]
        environment = rewrite(self.container.get("Environment") or {}, self.sandbox.root)
        env = self.settings.process_env(self.region, environment, self.keys)
        self.sink.write(f"[localcloud] running: {' '.join(argv)}")
        self.process = ManagedProcess(argv, cwd=self.sandbox.root, env=env, sink=self.sink)

    def wait_ready(self, timeout_s: float, cancelled: threading.Event) -> None:
        """Polls ``GET /ping`` until it answers 200.

        Raises:
            DeploymentError: the server exited, or was not ready within ``timeout_s``, or
                ``cancelled`` was set (the endpoint is being deleted).
        """
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process.wait()
                raise DeploymentError(
                    f"The primary container for production variant {self.variant} exited with "
                    f"code {code} before it passed the ping health check: "
                    f"{self.process.last_error_line()}"
                )
            if cancelled.is_set():
                raise DeploymentError("the endpoint was deleted while it was being created")
            if self.ping():
                return
            self.sink.flush()
            time.sleep(_PING_EVERY_S)
        raise DeploymentError(
            f"The primary container for production variant {self.variant} did not pass the ping "
            f"health check within {timeout_s:.0f} s. See {self.sink.path}"
        )

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/ping", timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        if self.process is not None:
            self.process.terminate()
        self.sink.close()
