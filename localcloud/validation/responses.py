"""A refused request answered in its protocol's error shape, as botocore and the JS SDK parse it.

- ``json``: HTTP 400, ``{"__type": code, "message": ...}`` (AWS JSON 1.0/1.1 error shape);
- ``rest-json``: HTTP 400, the code in ``X-Amzn-ErrorType``, ``{"Type": "User", "message": ...}``;
- ``query``: HTTP 400, ``<ErrorResponse><Error><Type>Sender</Type><Code>...`` (the AWS Query
  error shape);
- ``rest-xml`` (S3): HTTP 400, ``<Error><Code>...</Code><Message>...</Message>...</Error>``
  with the code's own extra elements (``Size``/``MaxSizeAllowed`` for ``KeyTooLongError``).

The shapes are those described in https://smithy.io/2.0/aws/protocols/ (awsJson1_0,
awsJson1_1, restJson1, awsQuery and restXml error serialization).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from localcloud.validation.wire import Call

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the error code, its message, and extra XML elements (S3)."""

    code: str
    message: str
    status: int = 400
    details: dict[str, str] = field(default_factory=dict)


def render(call: Call, refusal: Refusal) -> Response:
    """The HTTP response AWS would give for ``refusal``."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if call.protocol == "json":
        version = call.model.metadata.get("jsonVersion", "1.1")
        headers["Content-Type"] = f"application/x-amz-json-{version}"
        if "awsQueryCompatible" in call.model.metadata:  # the SDKs read the query code here
            headers["x-amzn-query-error"] = f"{refusal.code};Sender"
        body = json.dumps({"__type": refusal.code, "message": refusal.message})
    elif call.protocol == "rest-json":
        headers["Content-Type"] = "application/json"
        headers["X-Amzn-ErrorType"] = refusal.code
        body = json.dumps({"Type": "User", "message": refusal.message})
    elif call.protocol == "query":
        headers["Content-Type"] = "text/xml"
        namespace = (
            f"https://{call.model.endpoint_prefix}.amazonaws.com/doc/{call.model.api_version}/"
        )
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
            f"<Code>{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    else:
        headers["Content-Type"] = "application/xml"
        headers["x-amz-request-id"] = request_id
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in refusal.details.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(refusal.code)}</Code>"
            f"<Message>{escape(refusal.message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>localcloud</HostId></Error>"
        )
    return refusal.status, headers, body.encode("utf-8")
