"""cdk-nag findings of the workflow stack that are accepted, each with its reason.

Every wildcard resource in the workflow's roles is acknowledged on its own (AwsSolutions-IAM5,
one finding each), with the reason of the statement it belongs to, looked up by ``Sid``: a new
statement with a wildcard and no reason here fails synth until someone writes one down.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from stacks.nag import acknowledge
from stacks.serving.wildcards import acknowledge_wildcard

_RUN_NAMED = "is named <run_name>{suffix} when the execution starts; the suffix limits it to "
REASONS: dict[str, str] = {
    "ReadData": "Jobs read the user's datasets and base models, which may be anywhere in the "
    "project's data bucket, and earlier runs' outputs under runs/<run_name>/.",
    "WriteRuns": "Each run writes its data splits, checkpoints, model and evaluation under "
    "runs/<run_name>/, a name chosen when the execution starts; runs/ is the fixed part.",
    "WriteLogs": "SageMaker names each job's log stream after the job, inside these two "
    "fixed log groups.",
    "ReadJobWheels": "The jobs install the locked libraries from their wheels, one object per "
    "wheel under the one prefix (the asset hash of the lock) that CDK publishes them to.",
    "ReadModels": "The temporary endpoints serve a run's kept model from models/runs/<run_name>/ "
    "(a name chosen when the execution starts; read-only, models/ is the fixed part), or a "
    "base model, which may be anywhere in the project's data bucket.",
    "WriteEndpointLogs": "SageMaker names an endpoint's log group after the endpoint, "
    "/aws/sagemaker/Endpoints/<run_name>-eval or -base, and its streams after the variant and "
    "instance; the run name is chosen when the execution starts.",
    "PutMetrics": "cloudwatch:PutMetricData has no resource type; the cloudwatch:namespace "
    "condition limits it to SageMaker's namespaces.",
    "EcrLogin": "ecr:GetAuthorizationToken has no resource type; image pulls are limited to the "
    "pinned repositories by the PullImages statement.",
    "InvokeEvaluationEndpoint": "The evaluation job's endpoint "
    + _RUN_NAMED.format(suffix="-eval")
    + "evaluation endpoints.",
    "InvokeBaseEndpoint": "The base model's endpoint, which the evaluation job compares with, "
    + _RUN_NAMED.format(suffix="-base")
    + "base endpoints.",
    "DescribeNetwork": "EC2 Describe* actions have no resource types.",
    "ManageInterfaces": "SageMaker creates network interfaces with generated ids for each job "
    "and endpoint; the ec2:Vpc condition limits them to the project's VPC.",
    "RunProcessingJobs": "Each processing job "
    + _RUN_NAMED.format(suffix="-prepare / -evaluate")
    + "this workflow's jobs.",
    "RunTrainingJob": "The training job " + _RUN_NAMED.format(suffix="-train") + "training jobs.",
    "ManageEvaluationModel": "The evaluation model "
    + _RUN_NAMED.format(suffix="-eval")
    + "evaluation models.",
    "ManageEvaluationEndpointConfig": "The evaluation endpoint config "
    + _RUN_NAMED.format(suffix="-eval")
    + "evaluation configs.",
    "ManageEvaluationEndpoint": "The evaluation endpoint "
    + _RUN_NAMED.format(suffix="-eval")
    + "evaluation endpoints.",
    "ManageBaseModel": "The base model deployed for comparison "
    + _RUN_NAMED.format(suffix="-base")
    + "base models.",
    "ManageBaseEndpointConfig": "The base endpoint config "
    + _RUN_NAMED.format(suffix="-base")
    + "base endpoint configs.",
    "ManageBaseEndpoint": "The base endpoint "
    + _RUN_NAMED.format(suffix="-base")
    + "base endpoints.",
    "CreateEvaluationEndpointFromItsConfig": "CreateEndpoint names the evaluation endpoint "
    "config " + _RUN_NAMED.format(suffix="-eval") + "evaluation configs.",
    "CreateBaseEndpointFromItsConfig": "CreateEndpoint names the base endpoint config "
    + _RUN_NAMED.format(suffix="-base")
    + "base endpoint configs.",
    "KeepTrainedModels": "The training job writes a run's model under runs/<run_name>/model/ "
    "(a name chosen when the execution starts); the state machine reads it once, to copy it.",
    "WriteKeptModels": "Each run's model is copied to models/ + its key under runs/; the run "
    "name is chosen when the execution starts. No other role may write models/.",
    "ReadEvaluationReport": "The gate reads runs/<run_name>/evaluation/report.json; only the "
    "run name, chosen when the execution starts, is open.",
    "RegisterModel": "Model package versions are numbered when registered; the group name "
    "limits registration to the project's model package group.",
}
# The stopped-run cleanup (stopped_run_cleanup_role.py) deletes the same resources under the
# same names: CleanUpEvaluationModel has ManageEvaluationModel's reason, and so on.
REASONS |= {
    f"CleanUp{endpoint}{kind}": REASONS[f"Manage{endpoint}{kind}"]
    for endpoint in ("Evaluation", "Base")
    for kind in ("Model", "EndpointConfig", "Endpoint")
}
REASONS["FindWhoStartedTheRun"] = (
    "The run's first job " + _RUN_NAMED.format(suffix="-prepare") + "data preparation jobs."
)
GENERATED_POLICY_REASON = (
    "CDK adds Step Functions' log delivery (logs:*LogDelivery, logs:Describe*) and X-Ray "
    "(xray:PutTraceSegments, xray:GetSampling*) permissions, which have no resource types."
)
RUNTIME_REASON = (
    "Pinned to python3.12 on purpose: the handler is standard-library code tested under the "
    "project's Python 3.11, and a runtime upgrade is made with its tests, not implied by CDK."
)


def acknowledge_role_wildcards(role: iam.Role, statements: list[iam.PolicyStatement]) -> None:
    """One IAM5 acknowledgement per distinct wildcard resource in ``statements``.

    Raises:
        KeyError: a statement with a wildcard resource has no reason in ``REASONS``.
    """
    reasons: dict[str, list[str]] = {}
    for statement in statements:
        for resource in statement.resources:
            if "*" in resource:
                if statement.sid not in REASONS:
                    raise KeyError(f"no cdk-nag reason for the wildcard in {statement.sid!r}")
                reasons.setdefault(resource, []).append(REASONS[statement.sid])
    for resource, why in reasons.items():
        acknowledge_wildcard(role, resource, " ".join(dict.fromkeys(why)))


def acknowledge_workflow(
    *,
    policies: list[tuple[iam.Role, list[iam.PolicyStatement]]],
    validator: lambda_.Function,
) -> None:
    """Acknowledges the workflow stack's accepted findings.

    Args:
        policies: each role with the statements of its inline policy.
        validator: the input-validation function.
    """
    for role, statements in policies:
        acknowledge_role_wildcards(role, statements)
        # Statements CDK adds itself (the state machine's logs and X-Ray) land in DefaultPolicy.
        generated: IConstruct | None = role.node.try_find_child("DefaultPolicy")
        if generated is not None:
            acknowledge(
                generated, "AwsSolutions-IAM5", GENERATED_POLICY_REASON, finding="Resource::*"
            )
    acknowledge(validator, "AwsSolutions-L1", RUNTIME_REASON)
