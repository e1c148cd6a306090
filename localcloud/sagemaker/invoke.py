"""sagemaker-runtime InvokeEndpoint: forwards the request to the endpoint's local server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote

from localcloud.sagemaker import registry, settings
from localcloud.sagemaker.deployment import HOST
from localcloud.sagemaker.endpoints import KIND

_FORWARDED_HEADERS = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")


def _error(status: int, code: str, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    # moto takes the status of a handler's answer from its "status" header.
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json", "status": str(status)}
    return status, headers, json.dumps(body)


def invoke_endpoint(response: Any) -> tuple[int, dict[str, str], bytes | str]:
    """Replaces moto's canned ``SageMakerRuntimeResponse.invoke_endpoint``.

    A non-2xx answer from the server becomes SageMaker's ``ModelError`` (HTTP 424) carrying the
    server's status and message, so boto3 raises ``ModelError`` with them.
    """
    name = unquote(response.path.split("/")[2])
    account, region = response.current_account, response.region
    run = registry.get(registry.key(KIND, account, region, name))
    deployment = run.target() if run is not None else None
    if deployment is None:
        message = f"Endpoint {name} of account {account} not found."
        return _error(400, "ValidationError", {"message": message})
    headers = {h: response.headers[h] for h in _FORWARDED_HEADERS if response.headers.get(h)}
    request = urllib.request.Request(
        f"http://{HOST}:{deployment.port}/invocations",
        data=response.raw_body or b"",
        headers=headers,
        method="POST",
    )
    log_group = f"/aws/sagemaker/Endpoints/{name}"
    try:
        with urllib.request.urlopen(request, timeout=settings.current().invoke_timeout_s) as answer:
            status, body = answer.status, answer.read()
            content_type = answer.headers.get("Content-Type", "application/octet-stream")
    except urllib.error.HTTPError as error:
        status, body, content_type = error.code, error.read(), ""
    except (urllib.error.URLError, OSError) as error:
        message = f"Could not reach the primary container of endpoint {name}: {error}"
        return _error(424, "ModelError", {"message": message, "OriginalStatusCode": 502})
    if not 200 <= status < 300:
        text = body.decode("utf-8", errors="replace")
        side = "client" if 400 <= status < 500 else "server"
        message = (
            f'Received {side} error ({status}) from primary with message "{text}". See '
            f"log group {log_group} in account {account} for more information."
        )
        arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group}"
        return _error(
            424,
            "ModelError",
            {
                "message": message,
                "OriginalStatusCode": status,
                "OriginalMessage": text,
                "LogStreamArn": arn,
            },
        )
    reply = {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": deployment.variant}
    return 200, reply, body
