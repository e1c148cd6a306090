"""A request read by the validator (``validation.wire.Call``) as the IAM actions it needs.

Action names, resource ARNs and condition keys are those of AWS's Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/), per service:

- JSON and query services: ``<prefix>:<Operation>``; the resource is the one the operation's
  ARN-bearing member names (tables below), ``*`` for an operation on no resource;
- S3 (``list_amazons3.html``): the action is not always the operation (the table ``_S3``);
  ``CopyObject``/``UploadPartCopy`` need ``s3:GetObject`` on the source too; list calls carry
  ``s3:prefix``;
- SageMaker ARNs hold the resource name in lower case, as SageMaker returns them
  (``arn:aws:sagemaker:<region>:<account>:training-job/<name>``; "Amazon SageMaker AI
  resource ARNs are lowercase", https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from localcloud.validation.wire import Call

# boto3 service name -> IAM service prefix
PREFIXES = {"sagemaker-runtime": "sagemaker", "stepfunctions": "states"}

# S3 operation -> (action, on the object (else the bucket))
_S3: dict[str, tuple[str, bool]] = {
    "GetObject": ("s3:GetObject", True),
    "HeadObject": ("s3:GetObject", True),
    "GetObjectAttributes": ("s3:GetObject", True),
    "GetObjectTagging": ("s3:GetObjectTagging", True),
    "PutObject": ("s3:PutObject", True),
    "CreateMultipartUpload": ("s3:PutObject", True),
    "UploadPart": ("s3:PutObject", True),
    "CompleteMultipartUpload": ("s3:PutObject", True),
    "CopyObject": ("s3:PutObject", True),
    "UploadPartCopy": ("s3:PutObject", True),
    "PutObjectTagging": ("s3:PutObjectTagging", True),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", True),
    "ListParts": ("s3:ListMultipartUploadParts", True),
    "DeleteObject": ("s3:DeleteObject", True),
    "ListObjects": ("s3:ListBucket", False),
    "ListObjectsV2": ("s3:ListBucket", False),
    "HeadBucket": ("s3:ListBucket", False),
    "ListObjectVersions": ("s3:ListBucketVersions", False),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", False),
    "GetBucketLocation": ("s3:GetBucketLocation", False),
    "ListBuckets": ("s3:ListAllMyBuckets", False),
}
_COPY = ("CopyObject", "UploadPartCopy")

# SageMaker operation -> (resource type, member with its name); others: "*"
_SAGEMAKER: dict[str, list[tuple[str, str]]] = {}
for _type, _member, _ops in (
    ("training-job", "TrainingJobName", "Create Describe Stop"),
    ("processing-job", "ProcessingJobName", "Create Describe Stop"),
    ("model", "ModelName", "Create Describe Delete"),
    ("endpoint-config", "EndpointConfigName", "Create Describe Delete"),
    ("endpoint", "EndpointName", "Create Describe Delete Update"),
):
    _noun = "".join(part.capitalize() for part in _type.split("-"))
    for _verb in _ops.split():
        _SAGEMAKER[f"{_verb}{_noun}"] = [(_type, _member)]
# CreateEndpoint and UpdateEndpoint act on the endpoint and on the config they use.
_SAGEMAKER["CreateEndpoint"] = [
    ("endpoint", "EndpointName"),
    ("endpoint-config", "EndpointConfigName"),
]
_SAGEMAKER["UpdateEndpoint"] = [
    ("endpoint", "EndpointName"),
    ("endpoint-config", "EndpointConfigName"),
]
_SAGEMAKER["InvokeEndpoint"] = [("endpoint", "EndpointName")]
_SAGEMAKER["CreateModelPackage"] = [("model-package-group", "ModelPackageGroupName")]
_SAGEMAKER["DescribeModelPackageGroup"] = [("model-package-group", "ModelPackageGroupName")]
_SAGEMAKER["ListModelPackages"] = [("model-package-group", "ModelPackageGroupName")]
# A version is named by its ARN (model-package/<group>/<version>), which is kept as it is.
_SAGEMAKER["DescribeModelPackage"] = [("model-package", "ModelPackageName")]
# Operations whose role member is passed to SageMaker (iam:PassRole, iam:PassedToService).
PASSED_ROLES = {
    "CreateTrainingJob": "RoleArn",
    "CreateProcessingJob": "RoleArn",
    "CreateModel": "ExecutionRoleArn",
}
# Operations whose IAM action is not named after them.
_RENAMED = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("lambda", "InvokeAsync"): "lambda:InvokeFunction",
}
# Operations that need no permission at all (GetCallerIdentity: "No permissions are required").
FREE = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Needed:
    """One permission a request needs: an action on a resource, and its condition keys."""

    action: str
    resource: str
    context: dict[str, list[str]]
    bucket: str | None = None  # the S3 bucket whose policy applies
    key_id: str | None = None  # the KMS key whose key policy applies


def needed(call: Call, account: str, region: str) -> list[Needed]:
    """Every permission ``call`` needs (empty for a call that needs none)."""
    if (call.service, call.operation.name) in FREE:
        return []
    if call.service == "s3":
        return _s3(call)
    prefix = PREFIXES.get(call.service, call.service)
    action = _RENAMED.get((call.service, call.operation.name), f"{prefix}:{call.operation.name}")
    builder = _BUILDERS.get(prefix)
    arns = builder(call, account, region) if builder else []
    found = [a for a in arns if a] or ["*"]
    context = _context(call)
    key_id = call.params.get("KeyId") if prefix == "kms" else None
    result = [Needed(action, arn, context, key_id=key_id) for arn in found]
    passed = PASSED_ROLES.get(call.operation.name) if prefix == "sagemaker" else None
    if passed and call.params.get(passed):
        result.append(
            Needed(
                "iam:PassRole",
                call.params[passed],
                {"iam:passedtoservice": ["sagemaker.amazonaws.com"]},
            )
        )
    return result


def _context(call: Call) -> dict[str, list[str]]:
    params = call.params
    context: dict[str, list[str]] = {}
    if call.service == "cloudwatch" and "Namespace" in params:
        context["cloudwatch:namespace"] = [params["Namespace"]]
    if call.service == "kms":
        for name, value in (params.get("EncryptionContext") or {}).items():
            context[f"kms:encryptioncontext:{name}".lower()] = [str(value)]
    return context


def _s3(call: Call) -> list[Needed]:
    params = call.params
    name = call.operation.name
    action, on_object = _S3.get(name, (f"s3:{name}", False))
    bucket = params.get("Bucket")
    if bucket is None:
        return [Needed(action, "*", {})]
    context: dict[str, list[str]] = {}
    if action == "s3:ListBucket" and params.get("Prefix") is not None:
        context["s3:prefix"] = [params["Prefix"]]
    key = params.get("Key")
    arn = f"arn:aws:s3:::{bucket}/{key}" if on_object and key else f"arn:aws:s3:::{bucket}"
    result = [Needed(action, arn, context, bucket=bucket)]
    if name in _COPY and params.get("CopySource"):
        source = unquote(str(params["CopySource"])).lstrip("/").split("?versionId=")[0]
        source_bucket = source.split("/", 1)[0]
        result.append(Needed("s3:GetObject", f"arn:aws:s3:::{source}", {}, bucket=source_bucket))
    if name == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        result = [
            Needed("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o.get('Key')}", {}, bucket=bucket)
            for o in objects
        ] or result
    return result


def _sagemaker(call: Call, account: str, region: str) -> list[str]:
    base = f"arn:aws:sagemaker:{region}:{account}"
    found = []
    for resource_type, member in _SAGEMAKER.get(call.operation.name, []):
        value = str(call.params.get(member) or "")
        if value.startswith("arn:"):
            found.append(value.lower())
        elif value:
            found.append(f"{base}:{resource_type}/{value.lower()}")
    if "ResourceArn" in call.params:  # AddTags, ListTags, DeleteTags
        found.append(str(call.params["ResourceArn"]))
    return found


def _states(call: Call, account: str, region: str) -> list[str]:
    return [str(call.params[m]) for m in ("stateMachineArn", "executionArn") if m in call.params]


def _lambda(call: Call, account: str, region: str) -> list[str]:
    name = call.params.get("FunctionName")
    if not name:
        return []
    if str(name).startswith("arn:"):
        return [str(name)]
    return [f"arn:aws:lambda:{region}:{account}:function:{name}"]


def _sns(call: Call, account: str, region: str) -> list[str]:
    return [str(call.params[m]) for m in ("TopicArn", "TargetArn") if m in call.params]


def _events(call: Call, account: str, region: str) -> list[str]:
    name = call.params.get("Name") or call.params.get("Rule")
    return [f"arn:aws:events:{region}:{account}:rule/{name}"] if name else []


def _logs(call: Call, account: str, region: str) -> list[str]:
    group = call.params.get("logGroupName")
    if not group:
        return []
    stream = call.params.get("logStreamName")
    base = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    return [f"{base}:log-stream:{stream}" if stream else f"{base}:*"]


def _kms(call: Call, account: str, region: str) -> list[str]:
    return []  # the hook resolves KeyId (an id, alias or ARN) to the key's ARN


def _ssm(call: Call, account: str, region: str) -> list[str]:
    names = call.params.get("Names") or [call.params.get("Name")]
    # A parameter's ARN holds its name without the leading slash of a path-like name.
    return [f"arn:aws:ssm:{region}:{account}:parameter/{str(n).lstrip('/')}" for n in names if n]


def _cloudformation(call: Call, account: str, region: str) -> list[str]:
    name = call.params.get("StackName")
    if not name:
        return []
    if str(name).startswith("arn:"):
        return [str(name)]
    return [f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"]


def _iam(call: Call, account: str, region: str) -> list[str]:
    role = call.params.get("RoleName")
    return [f"arn:aws:iam::{account}:role/{role}"] if role else []


_BUILDERS: dict[str, Callable[[Call, str, str], list[str]]] = {
    "sagemaker": _sagemaker,
    "states": _states,
    "lambda": _lambda,
    "sns": _sns,
    "events": _events,
    "logs": _logs,
    "kms": _kms,
    "iam": _iam,
    "ssm": _ssm,
    "cloudformation": _cloudformation,
}

__all__ = ["FREE", "PASSED_ROLES", "PREFIXES", "Needed", "needed"]
