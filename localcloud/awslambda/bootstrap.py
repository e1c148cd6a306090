"""Runs one Lambda invocation inside a fresh Python process, with the Lambda handler contract.

Started by ``localcloud.awslambda.runtime`` as ``python bootstrap.py`` with the function's
code directory as the working directory. The event arrives as JSON on stdin; the handler's JSON
result (or ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` when it raises, as AWS's
Python runtime reports it) is written to the file named by ``LOCALCLOUD_LAMBDA_RESULT``, because
the handler's own prints go to stdout/stderr and become the invocation's log. Standard library
only: this file must not import moto or the project.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

RESULT_ENV = "LOCALCLOUD_LAMBDA_RESULT"
REQUEST_ID_ENV = "LOCALCLOUD_REQUEST_ID"
DEADLINE_ENV = "LOCALCLOUD_DEADLINE_MS"


class LambdaContext:
    """The attributes and method of the context object AWS passes to Python handlers."""

    def __init__(self) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("LOCALCLOUD_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = os.environ[REQUEST_ID_ENV]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(os.environ[DEADLINE_ENV])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error_type: str, message: str, exc: BaseException | None = None) -> dict[str, Any]:
    # Skip this file's own frame: the trace starts in the handler, as on AWS. The keys and their
    # order are AWS's Python runtime's (make_error in awslambdaric's bootstrap.py).
    stack = traceback.format_tb(exc.__traceback__.tb_next) if exc is not None else []
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": os.environ.get(REQUEST_ID_ENV, ""),
        "stackTrace": stack,
    }


def _load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        raise _Failure(
            _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise _Failure(
            _error(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        )
    return handler


class _Failure(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload["errorMessage"])
        self.payload = payload


def invoke() -> tuple[str, bool]:
    """Run the handler named by ``_HANDLER`` on the stdin event; return (payload JSON, failed)."""
    # Replace this script's folder with the function's code, as /var/task is on AWS.
    sys.path[0] = os.getcwd()
    event = json.loads(sys.stdin.read() or "{}")
    try:
        handler = _load_handler(os.environ["_HANDLER"])
        result = handler(event, LambdaContext())
    except _Failure as failure:
        return json.dumps(failure.payload), True
    except Exception as exc:
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return json.dumps(_error(type(exc).__name__, str(exc), exc)), True
    try:
        return json.dumps(result), False
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return json.dumps(_error("Runtime.MarshalError", message)), True


def main() -> int:
    request_id = os.environ[REQUEST_ID_ENV]
    started = time.monotonic()
    print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
    payload, failed = invoke()
    with open(os.environ[RESULT_ENV], "w", encoding="utf-8") as out:
        out.write(payload)
    elapsed_ms = (time.monotonic() - started) * 1000
    sys.stderr.flush()
    print(f"END RequestId: {request_id}")
    print(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
