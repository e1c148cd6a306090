"""KMS keys, and the log groups and functions encrypted with them, as CloudFormation makes them.

Moto's ``AWS::Logs::LogGroup`` reads the API's ``kmsKeyId``, not CloudFormation's ``KmsKeyId``,
so a template's encrypted log group would come out unencrypted with any key. CloudWatch Logs
refuses a key that does not exist, or whose policy does not let the regional service principal
``logs.<region>.amazonaws.com`` use it for this log group (a condition on
``kms:EncryptionContext:aws:logs:arn`` may name the groups,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html), and so
does this module, with CloudWatch Logs' message. Moto also ignores a key's new ``KeyPolicy``
on a stack update and an ``AWS::Lambda::Function``'s ``KmsKeyArn``: here the policy is
replaced in place, as CloudFormation does, and ``KmsKeyArn`` becomes the function's
``KMSKeyArn``. A key with ``Tags`` (every CDK key once stack tags are set) failed, as moto hands
CloudFormation's ``{Key, Value}`` tags to a tagger that expects KMS's ``{TagKey, TagValue}``,
and its ``KeyPolicy`` was kept as an object where KMS's calls read JSON text: both are
converted.

Not like CloudFormation: moto creates a stack update's new resources before it updates the
changed ones, so a key policy change and the new log group it allows must not be one stack's
update (the project's key is in the storage stack, deployed before the stacks that log).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.kms.models import Key, kms_backends
from moto.logs.exceptions import LogsClientError
from moto.logs.models import LogGroup

from localcloud.patching import Patches

CONTEXT_KEY = "kms:EncryptionContext:aws:logs:arn"
# The operators a policy can hold the context key with, and whether they take wildcards.
PATCHES = Patches()
_OPERATORS = {"ArnEquals": False, "StringEquals": False, "ArnLike": True, "StringLike": True}


class KeyNotAllowed(LogsClientError):
    """CloudWatch Logs' answer to a key it may not use for the log group."""

    def __init__(self, group_arn: str) -> None:
        super().__init__(
            "AccessDeniedException",
            "The specified KMS key does not exist or is not allowed to be used with Arn "
            f"'{group_arn}'",
        )


def key_allows_logs(policy: dict[str, Any], region: str, group_arn: str) -> bool:
    """Whether a statement of ``policy`` lets CloudWatch Logs encrypt the log group."""
    service = f"logs.{region}.amazonaws.com"
    for statement in _as_list(policy.get("Statement")):
        principals = _as_list((statement.get("Principal") or {}).get("Service"))
        actions = _as_list(statement.get("Action"))
        if (
            statement.get("Effect") == "Allow"
            and service in principals
            and any(fnmatch.fnmatchcase("kms:GenerateDataKey", a) for a in actions)
            and _conditions_hold(statement.get("Condition") or {}, group_arn)
        ):
            return True
    return False


def _conditions_hold(conditions: dict[str, Any], group_arn: str) -> bool:
    """Every condition holds for a call naming ``group_arn``; one on another key never does."""
    for operator, tests in conditions.items():
        if operator not in _OPERATORS or set(tests) != {CONTEXT_KEY}:
            return False
        values = _as_list(tests[CONTEXT_KEY])
        like = _OPERATORS[operator]
        if not any(fnmatch.fnmatchcase(group_arn, v) if like else group_arn == v for v in values):
            return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _key_create(
    cls: type[Key],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Key:
    properties = cloudformation_json.setdefault("Properties", {})
    properties["Tags"] = [
        {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag
        for tag in properties.get("Tags", [])
    ]
    if isinstance(properties.get("KeyPolicy"), dict):
        properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
    moto_create = PATCHES.original(Key, "create_from_cloudformation_json").__func__
    return moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def _log_group_create(
    cls: type[LogGroup],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LogGroup:
    properties = cloudformation_json.setdefault("Properties", {})
    key_id = properties.pop("KmsKeyId", None)
    if key_id is not None:
        group_arn = f"arn:aws:logs:{region_name}:{account_id}:log-group:{resource_name}"
        key_region, key_account = key_id.split(":")[3:5] if key_id.startswith("arn:") else ("", "")
        keys = kms_backends[key_account or account_id][key_region or region_name]
        try:
            key = keys.describe_key(key_id)
        except Exception as missing:
            raise KeyNotAllowed(group_arn) from missing
        policy = key.policy if isinstance(key.policy, dict) else json.loads(key.policy)
        if not key_allows_logs(policy, region_name, group_arn):
            raise KeyNotAllowed(group_arn)
        properties["kmsKeyId"] = key.arn
    moto_create = PATCHES.original(LogGroup, "create_from_cloudformation_json").__func__
    return moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def _key_update(
    cls: type[Key],
    original_resource: Key,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Key:
    properties = cloudformation_json.get("Properties", {})
    policy = properties.get("KeyPolicy")
    if policy is not None:
        original_resource.policy = policy if isinstance(policy, str) else json.dumps(policy)
    original_resource.description = properties.get("Description", "")
    original_resource.key_rotation_status = properties.get("EnableKeyRotation", False)
    return original_resource


def _function_create(
    cls: type[LambdaFunction],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LambdaFunction:
    moto_create = PATCHES.original(LambdaFunction, "create_from_cloudformation_json").__func__
    function = moto_create(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    function.kms_key_arn = cloudformation_json.get("Properties", {}).get("KmsKeyArn")
    return function


def install() -> Patches:
    """Patch moto's log group, key and function models (idempotent); :func:`uninstall` undoes
    it."""
    if PATCHES.applied:
        return PATCHES
    PATCHES.set(Key, "create_from_cloudformation_json", classmethod(_key_create))
    PATCHES.set(LogGroup, "create_from_cloudformation_json", classmethod(_log_group_create))
    PATCHES.set(Key, "update_from_cloudformation_json", classmethod(_key_update))
    PATCHES.set(LambdaFunction, "create_from_cloudformation_json", classmethod(_function_create))
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own log group, key and function models."""
    PATCHES.restore()
