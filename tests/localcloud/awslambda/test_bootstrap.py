"""The Lambda handler contract, run through ``localcloud/awslambda/bootstrap.py`` directly
(no server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from localcloud.awslambda.bootstrap import DEADLINE_ENV, REQUEST_ID_ENV, RESULT_ENV
from localcloud.awslambda.runtime import BOOTSTRAP

HANDLERS = """
import json

def echo(event, context):
    return {"event": event, "name": context.function_name, "id": context.aws_request_id,
            "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30000}

class QuotaExceededError(Exception):
    pass

def fail(event, context):
    print("about to fail")
    raise QuotaExceededError("over quota by " + str(event["by"]))

def unserialisable(event, context):
    return {"when": object()}
"""


def invoke(tmp_path: Path, handler: str, event: Any) -> tuple[dict[str, Any], int, str]:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    result = tmp_path / "result.json"
    env = {
        "PATH": os.environ["PATH"],
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        RESULT_ENV: str(result),
        REQUEST_ID_ENV: "req-1",
        DEADLINE_ENV: str(int((time.time() + 30) * 1000)),
    }
    proc = subprocess.run(
        [sys.executable, str(BOOTSTRAP)],
        cwd=code,
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.read_text()), proc.returncode, proc.stdout + proc.stderr


def test_handler_gets_event_and_context(tmp_path: Path) -> None:
    payload, code, logs = invoke(tmp_path, "handlers.echo", {"value": 3})
    assert code == 0
    assert payload == {"event": {"value": 3}, "name": "fn", "id": "req-1", "remaining_ok": True}
    assert "START RequestId: req-1" in logs and "REPORT RequestId: req-1" in logs


def test_exception_becomes_error_payload(tmp_path: Path) -> None:
    payload, code, logs = invoke(tmp_path, "handlers.fail", {"by": 7})
    assert code == 1
    assert payload["errorType"] == "QuotaExceededError"
    assert payload["errorMessage"] == "over quota by 7"
    # The trace starts in the handler, not in the bootstrap, as on AWS.
    assert "handlers.py" in payload["stackTrace"][0]
    assert all("awslambda/bootstrap.py" not in frame for frame in payload["stackTrace"])
    assert "about to fail" in logs and "[ERROR] QuotaExceededError" in logs


def test_missing_module_and_handler_are_runtime_errors(tmp_path: Path) -> None:
    payload, code, _ = invoke(tmp_path, "nosuchmodule.handler", {})
    assert (code, payload["errorType"]) == (1, "Runtime.ImportModuleError")
    payload, code, _ = invoke(tmp_path, "handlers.nosuchfunction", {})
    assert (code, payload["errorType"]) == (1, "Runtime.HandlerNotFound")


def test_unserialisable_result_is_a_marshal_error(tmp_path: Path) -> None:
    payload, code, _ = invoke(tmp_path, "handlers.unserialisable", {})
    assert (code, payload["errorType"]) == (1, "Runtime.MarshalError")
