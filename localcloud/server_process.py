"""The local cloud's server process: moto, patched by this package, served on localhost.

Run by ``localcloud.server.start`` as
``python -m localcloud.server_process --port N --state-dir D [--parent-pid P]``. It applies the
patches (every request checked against botocore's model of its API, CloudFormation change sets,
executing Step Functions, Lambda without Docker, then SageMaker from ``localcloud.sagemaker``
when that package is present), records its pid and port in ``D/server.json`` and serves until
SIGTERM/SIGINT or until process P ends; on the way out it ends every process it started.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from localcloud import validation
from localcloud.awslambda import runtime as lambda_runtime
from localcloud.cloudformation import change_sets
from localcloud.processes import alive, kill_tree
from localcloud.s3 import copy_object
from localcloud.server import STATE_FILE
from localcloud.stepfunctions import execution

LOG = logging.getLogger("localcloud")
HOST = "127.0.0.1"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SAGEMAKER_PLUGIN = "localcloud.sagemaker"


def install_patches(state_dir: Path, endpoint_url: str) -> list[str]:
    """Apply every extension of moto; return the names of those applied, in order."""
    validation.install()
    change_sets.install()
    execution.install()
    lambda_runtime.install(state_dir, endpoint_url)
    copy_object.install()
    applied = ["validation", "cloudformation", "stepfunctions", "lambda", "s3"]
    if importlib.util.find_spec(SAGEMAKER_PLUGIN) is None:
        return applied
    install = getattr(importlib.import_module(SAGEMAKER_PLUGIN), "install", None)
    if install is None:
        LOG.warning("%s has no install(): SageMaker stays moto's stock mock", SAGEMAKER_PLUGIN)
    else:
        install(state_dir)
        applied.append("sagemaker")
    return applied


def uninstall_patches() -> None:
    """Undo :func:`install_patches`: moto in this process is moto's own again (for tests)."""
    plugin = sys.modules.get(SAGEMAKER_PLUGIN)
    uninstall = getattr(plugin, "uninstall", None)
    if uninstall is not None:
        uninstall()
    copy_object.uninstall()
    lambda_runtime.uninstall()
    execution.uninstall()
    change_sets.uninstall()
    validation.uninstall()


def _watch_parent(parent_pid: int, stop: threading.Event, shutdown: Callable[[str], None]) -> None:
    # A parent killed by a signal runs no cleanup: the server must notice on its own.
    while not stop.wait(0.5):
        if os.getppid() != parent_pid or not alive(parent_pid):
            shutdown(f"parent process {parent_pid} ended")
            return


def main(argv: list[str] | None = None) -> int:
    """Serve until told to stop. Returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m localcloud.server_process", description=__doc__
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, help="stop when this process ends")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    endpoint_url = f"http://localhost:{args.port}"
    # Moto's Step Functions interpreter calls other services through this port.
    os.environ["MOTO_PORT"] = str(args.port)
    os.environ["LOCALCLOUD_ENDPOINT_URL"] = endpoint_url
    os.environ["LOCALCLOUD_STATE_DIR"] = str(state_dir)
    applied = install_patches(state_dir, endpoint_url)

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    stopping = threading.Event()

    def shutdown(reason: str) -> None:
        if not stopping.is_set():
            stopping.set()
            LOG.info("stopping: %s", reason)
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, lambda *_: shutdown("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: shutdown("SIGINT"))
    if args.parent_pid:
        threading.Thread(
            target=_watch_parent, args=(args.parent_pid, stopping, shutdown), daemon=True
        ).start()

    state = {"pid": os.getpid(), "port": args.port, "endpoint_url": endpoint_url}
    staged = state_dir / f".{STATE_FILE}.tmp"
    staged.write_text(json.dumps({**state, "started": time.time()}))
    staged.replace(state_dir / STATE_FILE)  # atomic: `find()` never reads half a file
    LOG.info("local cloud at %s (pid %d), extensions: %s", endpoint_url, os.getpid(), applied)
    try:
        server.serve_forever()
    finally:
        _stop_jobs()
        LOG.info("stopped")
    return 0


def _stop_jobs() -> None:
    """Let extensions stop their jobs in order, then end whatever is still running."""
    plugin = sys.modules.get(SAGEMAKER_PLUGIN)
    shutdown = getattr(plugin, "shutdown", None)
    if shutdown is not None:
        try:
            shutdown()
        except Exception:
            LOG.exception(
                "%s.shutdown() failed; its processes are killed instead", SAGEMAKER_PLUGIN
            )
    kill_tree(os.getpid(), include_root=False)


if __name__ == "__main__":
    raise SystemExit(main())
