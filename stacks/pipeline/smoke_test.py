"""The pipeline's smoke test: one chat request to an endpoint, checked against the contract.

Runs in CodeBuild in the tooling account after the staging stage deploys; it assumes the
staging account's smoke-test role and invokes the endpoint named by the Serving stack's
output::

    python3 stacks/pipeline/smoke_test.py --endpoint-name NAME --role-arn ARN --region us-east-1

Exit status 0 when the endpoint answers ``POST /invocations`` with a chat completion
(``choices[0].message.content`` and ``usage``); otherwise 1, with the reason. Needs only the
standard library and boto3, so CodeBuild installs nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

REQUEST = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Reply with one short greeting."},
    ],
    "max_tokens": 16,
    "temperature": 0,
}


class SmokeTestError(Exception):
    """The endpoint's answer breaks the endpoint contract."""


def check_response(status: int, body: bytes) -> dict[str, Any]:
    """The parsed chat completion, or ``SmokeTestError`` saying what is wrong with it."""
    if status != 200:
        raise SmokeTestError(f"HTTP {status}: {body[:500]!r}")
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise SmokeTestError(f"the body is not JSON ({error}): {body[:500]!r}") from None
    try:
        content = answer["choices"][0]["message"]["content"]
        usage = answer["usage"]
    except (KeyError, IndexError, TypeError):
        raise SmokeTestError(f"no choices[0].message.content or usage in {answer!r}") from None
    # Text, and some: whatever the model says (a smoke test does not judge quality).
    if not isinstance(content, str) or not content:
        raise SmokeTestError(f"choices[0].message.content is not generated text: {content!r}")
    for field in ("prompt_tokens", "completion_tokens"):
        if not isinstance(usage.get(field), int) or usage[field] < 1:
            raise SmokeTestError(f"usage.{field} is not a positive integer: {usage!r}")
    if usage["completion_tokens"] > REQUEST["max_tokens"]:
        raise SmokeTestError(
            f"{usage['completion_tokens']} tokens generated, more than max_tokens "
            f"({REQUEST['max_tokens']})"
        )
    return answer


def invoke(runtime: Any, endpoint_name: str) -> tuple[int, bytes]:
    """One ``InvokeEndpoint`` call; a model error (the container's 4xx/5xx) is an answer too."""
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(REQUEST).encode(),
        )
    except runtime.exceptions.ModelError as error:
        details = error.response
        return int(details.get("OriginalStatusCode", 500)), str(details).encode()
    return 200, response["Body"].read()


def runtime_client(role_arn: str | None, region: str) -> Any:
    import boto3  # imported here so that the checks above test without AWS credentials

    session = boto3.Session(region_name=region)
    if role_arn:
        credentials = session.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName="pipeline-smoke-test"
        )["Credentials"]
        session = boto3.Session(
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return session.client("sagemaker-runtime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--role-arn", help="a role to assume first (the target account's)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    status, body = invoke(runtime_client(args.role_arn, args.region), args.endpoint_name)
    try:
        answer = check_response(status, body)
    except SmokeTestError as error:
        print(f"smoke test FAILED for endpoint {args.endpoint_name}: {error}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    content = answer["choices"][0]["message"]["content"]
    print(f"smoke test passed for endpoint {args.endpoint_name} in {seconds:.1f} s: {content!r}")
    print(json.dumps({"endpoint": args.endpoint_name, "seconds": round(seconds, 2), **answer}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
