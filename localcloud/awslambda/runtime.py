"""Python Lambda functions that really run, without Docker.

Moto runs Lambda code in Docker containers, and there is no Docker here. This replaces
``LambdaFunction._invoke_lambda``: a Python function whose code is a zip (inline or an S3 asset,
as the CDK CLI uploads it) is unpacked once into ``<state_dir>/lambda/`` and each invocation runs
in a fresh subprocess of the server (``bootstrap.py``) with the Lambda handler contract:
event JSON in, JSON out, ``{errorType, errorMessage}`` on failure so Step Functions ``Catch``
matches on the exception's name. The subprocess gets the function's environment variables plus
the local cloud's endpoint and credentials, so boto3 inside the handler talks to the local cloud.

A synchronous invocation answers at most 6 MB ("Invocation payload (request and response): 6 MB
each for request and response (synchronous)",
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), exactly 6,291,556
bytes: a larger result fails the invocation as Lambda reports it (``FunctionError:
Unhandled``, ``Function.ResponseSizeTooLarge``, "Response payload size exceeded maximum allowed
payload size (6291556 bytes).", the words quoted in
https://github.com/alexcasalboni/aws-lambda-power-tuning/issues/210). moto compared Python's
in-memory size of the payload with 6,000,000, refusing responses AWS returns.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.utilities.aws_headers import amz_crc32

from localcloud.awslambda.bootstrap import DEADLINE_ENV, REQUEST_ID_ENV, RESULT_ENV
from localcloud.iam import credentials
from localcloud.patching import Patches
from localcloud.processes import kill_tree

LOG = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# AWS does not count a sandbox's start-up against the function's timeout; a cold interpreter here
# (importing boto3 and the handler's module) gets this much on top of it.
START_ALLOWANCE_S = 3.0
# Variables a subprocess needs to start at all; nothing else of the server's environment leaks in.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")

_settings: dict[str, Any] = {}
PATCHES = Patches()
_unpack_lock = threading.Lock()


def code_dir(function: LambdaFunction) -> Path:
    """Unpack the function's zip once (keyed by its SHA-256) and return the folder."""
    digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
    target = Path(_settings["state_dir"]) / "lambda" / f"{function.function_name}-{digest}"
    with _unpack_lock:
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(staging)
            staging.rename(target)
    return target


def _environment(function: LambdaFunction, request_id: str, deadline_ms: int) -> dict[str, str]:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
    env.update(
        {
            "AWS_ENDPOINT_URL": _settings["endpoint_url"],
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "LAMBDA_TASK_ROOT": str(code_dir(function)),
            "_HANDLER": function.handler or "",
            "LOCALCLOUD_FUNCTION_ARN": function.function_arn,
            REQUEST_ID_ENV: request_id,
            DEADLINE_ENV: str(deadline_ms),
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Lambda gives the handler its execution role's session (AWS_SESSION_TOKEN included):
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    keys = credentials.for_role(function.role, credentials.LAMBDA, function.function_name)
    env.update(keys.env())
    return env


def _failure(error_type: str, message: str) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message})


def run(function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    """Invoke ``function`` on ``event`` in a subprocess.

    Returns:
        The response payload (JSON text), whether the invocation failed, and its log text.
    """
    if not str(function.run_time or "").startswith("python") or function.package_type != "Zip":
        message = (
            f"the local cloud runs Python zip functions only; {function.function_name} is "
            f"{function.run_time or function.package_type}"
        )
        return _failure("Runtime.Unsupported", message), True, message
    if not function.code_bytes:
        message = f"{function.function_name} has no code: its zip was not found in S3"
        return _failure("Runtime.InvalidEntrypoint", message), True, message
    request_id = str(uuid.uuid4())
    timeout_s = float(function.timeout or 3)
    event_json = event if isinstance(event, str) else json.dumps(event)
    with tempfile.TemporaryDirectory(prefix="invoke-") as scratch:
        files = {name: Path(scratch) / name for name in ("event.json", "result.json", "log.txt")}
        files["event.json"].write_text(event_json, encoding="utf-8")
        env = _environment(function, request_id, int((time.time() + timeout_s) * 1000))
        env[RESULT_ENV] = str(files["result.json"])
        exit_code = _run_bootstrap(env, files["event.json"], files["log.txt"], timeout_s)
        logs = files["log.txt"].read_text(encoding="utf-8", errors="replace")
        if exit_code is None:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            return _failure("Sandbox.Timedout", message), True, logs + message
        if files["result.json"].is_file():
            return files["result.json"].read_text(encoding="utf-8"), exit_code != 0, logs
    message = f"RequestId: {request_id} Error: Runtime exited with status {exit_code}"
    return _failure("Runtime.ExitError", message), True, logs + message


def _run_bootstrap(env: dict[str, str], event: Path, log: Path, timeout_s: float) -> int | None:
    """Run one invocation; return its exit status, or None if it timed out."""
    # Files, not pipes: a process the handler left running would hold a pipe open. Its own
    # process group, so what the handler leaves running ends with the invocation, as AWS ends a
    # sandbox; it stays the server's descendant, so stopping the server ends it too.
    with open(event, "rb") as stdin, open(log, "wb") as stdout:
        proc = subprocess.Popen(
            [_settings.get("python", sys.executable), str(BOOTSTRAP)],
            cwd=env["LAMBDA_TASK_ROOT"],
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        code = proc.wait(timeout=timeout_s + START_ALLOWANCE_S)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid, grace_s=1.0)
        proc.wait()
        return None
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return code


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    self.logs_backend.ensure_log_group(self.logs_group_name)
    started = time.monotonic()
    payload, failed, logs = run(self, {} if event is None else event)
    LOG.info(
        "lambda %s %s in %.1f s",
        self.function_name,
        "failed" if failed else "ok",
        time.monotonic() - started,
    )
    self.save_logs(logs)
    return payload, failed, logs


MAX_SYNC_RESPONSE_BYTES = 6_291_556
RESPONSE_TOO_LARGE = {
    "errorMessage": (
        f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_RESPONSE_BYTES}"
        " bytes)."
    ),
    "errorType": "Function.ResponseSizeTooLarge",
}


@amz_crc32
def _invoke_response(self: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
    headers: dict[str, str] = {}
    function_name = unquote(self.path.rsplit("/", 2)[-2])
    payload = self.backend.invoke(
        function_name, self._get_param("qualifier"), self.body, self.headers, headers
    )
    if payload is None:
        return 404, headers, "{}"
    invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    if "x-amz-function-error" in headers:
        # An exception the handler raised: Lambda answers "Unhandled" (moto says "Handled",
        # a value only Node.js callback errors once had;
        # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_ResponseSyntax).
        headers["x-amz-function-error"] = "Unhandled"
    if invocation_type == "RequestResponse" and len(data) > MAX_SYNC_RESPONSE_BYTES:
        headers["x-amz-function-error"] = "Unhandled"
        payload = json.dumps(RESPONSE_TOO_LARGE).encode("utf-8")
    headers["content-type"] = "application/json"
    if invocation_type == "Event":
        return 202, {**headers, "status": "202"}, payload
    if invocation_type == "DryRun":
        return 204, {**headers, "status": "204"}, payload
    if self.headers.get("X-Amz-Log-Type") != "Tail":
        headers.pop("x-amz-log-result", None)
    return 200, headers, payload


def install(state_dir: Path, endpoint_url: str, python: str | None = None) -> Patches:
    """Make moto run Python Lambda functions in local subprocesses; :func:`uninstall` undoes it.

    Args:
        state_dir: Where unpacked function code is kept.
        endpoint_url: The local cloud's URL, given to handlers as ``AWS_ENDPOINT_URL``.
        python: The interpreter for handlers (default: the server's own, which has boto3).

    Returns:
        The patches applied to moto's Lambda.
    """
    _settings.update(state_dir=Path(state_dir), endpoint_url=endpoint_url)
    if python:
        _settings["python"] = python
    shutil.rmtree(Path(state_dir) / "lambda", ignore_errors=True)
    if not PATCHES.applied:
        PATCHES.set(LambdaFunction, "_invoke_lambda", _invoke_lambda)
        PATCHES.set(LambdaResponse, "invoke", _invoke_response)
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own (Docker) Lambda invocations."""
    PATCHES.restore()
