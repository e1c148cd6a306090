"""The errors a user can meet, each turned into one line that says what was wrong and what to do.

Anything else is a bug in the CLI and keeps its traceback.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from cli.target import TargetError

# What to do about the AWS error codes that everyday mistakes produce.
_HINTS = {
    "ExecutionDoesNotExist": "`python -m cli runs` lists the newest executions",
    "ExecutionAlreadyExists": "execution names cannot be reused: choose another --name",
    "InvalidName": "an execution name is 1 to 80 letters, digits, '-' or '_'",
    "InvalidArn": "give an execution name or a full execution ARN",
    "InvalidExecutionInput": "--input must be a JSON object of at most 256 KiB",
    "ExpiredToken": "refresh the credentials of --profile (for SSO: `aws sso login`)",
    "ExpiredTokenException": "refresh the credentials of --profile (for SSO: `aws sso login`)",
    "UnrecognizedClientException": "check the credentials of --profile",
    "InvalidClientTokenId": "check the credentials of --profile",
    "AccessDenied": "the credentials of --profile lack this permission",
    "AccessDeniedException": "the credentials of --profile lack this permission",
}


class CliError(Exception):
    """A mistake in the command line or in a file it names; the message says what to do."""


def explain(error: BaseException) -> str | None:
    """One line for an error a user can meet, or None for a bug (which keeps its traceback)."""
    if isinstance(error, CliError | TargetError):
        return str(error)
    if isinstance(error, ClientError):
        return _client_error(error)
    if isinstance(error, NoRegionError):
        return f"{error}: pass --region or set AWS_REGION"
    if isinstance(error, BotoCoreError | OSError):  # credentials, profile, network, local files
        return str(error)
    return None


def _client_error(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = details.get("Message") or str(error)
    line = f"{error.operation_name}: {code}: {message}"
    hint = _HINTS.get(code)
    return f"{line}; {hint}" if hint else line
