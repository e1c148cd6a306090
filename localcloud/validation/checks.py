"""Which services are checked, and what each answers for a request that breaks its model.

- A member that breaks a constraint: ``ValidationException`` (JSON and REST-JSON services),
  ``InvalidParameterException`` (CloudWatch Logs; ECR, in its own words), ``ValidationError``
  (the query services: SNS, STS, IAM, CloudFormation, and CloudWatch, which keeps its query
  codes over JSON), with Coral's message (``1 validation error detected: ...``).
- A member of the wrong JSON type: ``SerializationException``, as the JSON services answer
  a body they cannot read into the model.
- S3 (``s3_rules``): its own error codes.
"""

from __future__ import annotations

from localcloud.validation import s3_rules
from localcloud.validation.constraints import check, summary
from localcloud.validation.responses import Refusal
from localcloud.validation.wire import Call

# Every service the project, its CLI, its jobs, the workflow and the CDK CLI call (boto3 names).
CHECKED = frozenset(
    {
        "cloudformation",
        "cloudwatch",
        "ecr",
        "events",
        "iam",
        "kms",
        "lambda",
        "logs",
        "s3",
        "sagemaker",
        "sagemaker-runtime",
        "sns",
        "ssm",
        "stepfunctions",
        "sts",
    }
)
# moto's names of those services where they differ from boto3's.
MOTO_NAMES = {"awslambda": "lambda", "sagemakerruntime": "sagemaker-runtime"}
# CloudWatch Logs answers a parameter it refuses with InvalidParameterException ("A parameter
# is specified incorrectly", listed by each operation, e.g.
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html).
_CONSTRAINT_CODES = {"logs": "InvalidParameterException"}
# ECR words it its own way: "Invalid parameter at 'registryIds' failed to satisfy constraint:
# 'Member must satisfy constraint: [...]'" (InvalidParameterException, as quoted in
# https://github.com/aws-actions/amazon-ecr-login#inputs).
_ECR = "ecr"
# A JSON service that grew out of a query one (CloudWatch) keeps the query service's codes.
_QUERY_COMPATIBLE = "awsQueryCompatible"


def refusal(call: Call) -> Refusal | None:
    """Why AWS would refuse ``call``, or None when it would not (as far as the model says)."""
    if call.service == "s3":
        return s3_rules.refusal(call)
    shape = call.operation.input_shape
    if shape is None:
        return None
    violations = check(call.params, shape)
    if not violations:
        return None
    typed = [violation for violation in violations if violation.kind == "type"]
    if typed and call.protocol in ("json", "rest-json"):
        return Refusal("SerializationException", "; ".join(v.describe() for v in typed))
    if call.service == _ECR:
        message = "; ".join(
            f"Invalid parameter at '{v.aws_path}' failed to satisfy constraint: '{v.constraint}'"
            for v in violations
        )
        return Refusal("InvalidParameterException", message)
    if call.protocol == "query" or _QUERY_COMPATIBLE in call.model.metadata:
        return Refusal("ValidationError", summary(violations))
    return Refusal(_CONSTRAINT_CODES.get(call.service, "ValidationException"), summary(violations))
