"""An incoming request read into its operation and parameters, with botocore's protocol model.

- ``json`` (SageMaker, Step Functions, EventBridge, KMS, CloudWatch Logs, SSM, ECR, and
  CloudWatch as boto3 sends it): the operation is the ``X-Amz-Target`` header, the parameters
  are the JSON body as sent (so a number where the model has a string is seen as one);
- ``query`` (SNS, STS, IAM, CloudFormation): the form (``Tags.member.1.Key``,
  ``Attributes.entry.1.key``, flattened lists) read into the input shape by moto's
  model-driven parser, numbers and booleans converted where they parse;
- ``rest-json`` (Lambda, SageMaker Runtime) and ``rest-xml`` (S3): the operation is found by
  moto's router from the method and the URI templates of the model; URI labels, query string
  and headers are read per each member's ``location``; the JSON body as sent, an XML payload
  (S3's configuration documents) by moto's parser, a blob payload (an object's bytes) as is.

A request this module cannot read (CBOR, an unknown operation, a body that does not parse) is
left to moto, which answers it as it always has.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.model import OperationModel, OperationNotFoundError, ServiceModel
from moto.core.parse import RequestParserError
from moto.core.request import Request
from moto.core.routing import NotFound, get_service_router
from moto.core.utils import get_service_model
from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url

from localcloud.validation.parsers import LenientQuery, LenientRestJSON, LenientRestXML

LOG = logging.getLogger(__name__)
_UNREADABLE = (
    ValueError,  # JSON and base64 errors among them
    OSError,  # gzip.BadGzipFile
    zlib.error,
    NotFound,
    NotImplementedError,
    LookupError,
    OperationNotFoundError,
    RequestParserError,
)


@dataclass(frozen=True)
class Call:
    """One request, read: which operation, with which parameters."""

    service: str  # boto3's name: lambda, s3, sagemaker, ...
    protocol: str  # json, query, rest-json or rest-xml
    operation: OperationModel
    params: dict[str, Any]

    @property
    def model(self) -> ServiceModel:
        return self.operation.service_model


def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` in moto's facade (its parsers need it), loaded once."""
    return get_service_model(service)


def read(service: str, request: Request) -> Call | None:
    """The call ``request`` makes, or None when it cannot be read here."""
    content_type = request.headers.get("Content-Type", "")
    target = request.headers.get("X-Amz-Target")
    try:
        if target and "json" in content_type:
            return _json(service, target, _body(request))
        if content_type.startswith("application/x-www-form-urlencoded") and "Action" in (
            request.values
        ):
            return _query(service, request)
        if "cbor" in content_type:
            _not_read_once(service, "CBOR requests")
            return None
        if service_model(service).protocol in ("rest-json", "rest-xml"):
            return _rest(service, request)
    except _UNREADABLE as err:  # moto answers these requests as it always has
        LOG.debug("%s request not validated: %s", service, err)
    return None


def _body(request: Request) -> bytes:
    body = request.get_data()
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body


def _operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


def _json(service: str, target: str, body: bytes) -> Call:
    params = json.loads(body) if body.strip() else {}
    if not isinstance(params, dict):
        raise ValueError("the body is not a JSON object")
    operation = _operation(service, target.rsplit(".", 1)[-1])
    return Call(service, "json", operation, params)


def _query(service: str, request: Request) -> Call:
    operation = _operation(service, request.values["Action"])
    params = LenientQuery(operation).parse({"values": request.values})  # type: ignore[typeddict-item]
    return Call(service, "query", operation, params)


def _rest(service: str, request: Request) -> Call:
    path = request.path
    if service == "s3" and S3Response.subdomain_based_buckets(request):
        path = f"/{bucket_name_from_url(request.url)}{path}"  # virtual-hosted style
    operation, uri_params = get_service_router(service).match(_Routed(request, path))
    parser = LenientRestJSON if service_model(service).protocol == "rest-json" else LenientRestXML
    params = parser(operation).parse(
        {
            "method": request.method,
            "values": request.args,
            "headers": request.headers,
            "body": _body(request),
            "url_path": path,
            "url_params": uri_params,
        }
    )
    return Call(service, service_model(service).protocol, operation, params)


class _Routed:
    """The request as moto's router sees it, with the bucket of a virtual-hosted URL in it."""

    def __init__(self, request: Request, path: str) -> None:
        self._request = request
        self.path = path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


@cache
def _not_read_once(service: str, what: str) -> None:
    LOG.warning("%s %s are not validated: only JSON and query requests are read", service, what)
