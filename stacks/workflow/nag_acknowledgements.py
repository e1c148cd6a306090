"""The workflow stack's accepted findings of both scanners, cdk-nag and checkov, with reasons.

Every wildcard resource in the workflow's roles is acknowledged on its own (AwsSolutions-IAM5,
one finding each), with the reason of the statement it belongs to, looked up by ``Sid``: a new
statement with a wildcard and no reason here fails synth until someone writes one down. The
checkov suppressions (``CHECKOV_REASONS``) follow them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge, skip_checkov
from stacks.serving.wildcards import acknowledge_wildcard

if TYPE_CHECKING:
    from stacks.workflow.network import JobNetwork
    from stacks.workflow.run_cost_function import RunCostFunction
    from stacks.workflow.validator import InputValidator

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
    "/aws/sagemaker/Endpoints/<run_name>-eval, -base or -champion, and its streams after the "
    "variant and instance; the run name is chosen when the execution starts.",
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
    "InvokeChampionEndpoint": "The champion's endpoint, which the evaluation job compares with, "
    + _RUN_NAMED.format(suffix="-champion")
    + "champion endpoints.",
    "DescribeNetwork": "EC2 Describe* actions have no resource types.",
    "DescribeFunctionNetwork": "EC2 Describe* actions have no resource types.",
    "ManageFunctionInterfaces": "Lambda creates the validation function's network interfaces, "
    "with generated ids, as its execution role when the function is deployed; the ec2:Vpc "
    "condition limits them to the project's VPC.",
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
    "ManageChampionModel": "The champion deployed for comparison "
    + _RUN_NAMED.format(suffix="-champion")
    + "champion models.",
    "ManageChampionEndpointConfig": "The champion endpoint config "
    + _RUN_NAMED.format(suffix="-champion")
    + "champion endpoint configs.",
    "ManageChampionEndpoint": "The champion endpoint "
    + _RUN_NAMED.format(suffix="-champion")
    + "champion endpoints.",
    "CreateChampionEndpointFromItsConfig": "CreateEndpoint names the champion endpoint config "
    + _RUN_NAMED.format(suffix="-champion")
    + "champion endpoint configs.",
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
    "DescribeRunProcessingJobs": "The cost step describes a run's jobs, "
    + _RUN_NAMED.format(suffix="-prepare / -evaluate")
    + "this workflow's processing jobs.",
    "DescribeRunTrainingJob": "The cost step describes the training job, which "
    + _RUN_NAMED.format(suffix="-train")
    + "training jobs.",
    "ReadRunReports": "The cost step reads runs/<run_name>/evaluation/report.json and "
    "report.html to add the cost; only the run name, chosen when the execution starts, is open.",
    "WriteRunCosts": "The cost step writes runs/<run_name>/cost.json and the two reports back "
    "with the cost; only the run name, chosen when the execution starts, is open.",
    "RegisterModel": "Model package versions are numbered when registered; the group name "
    "limits registration to the project's model package group.",
    "FindChampion": "The champion is the newest Approved version of the project's model package "
    "group, whose number is known only once listed; the group name limits it to that group.",
}
# The stopped-run cleanup (stopped_run_cleanup_role.py) deletes the same resources under the
# same names: CleanUpEvaluationModel has ManageEvaluationModel's reason, and so on.
REASONS |= {
    f"CleanUp{endpoint}{kind}": REASONS[f"Manage{endpoint}{kind}"]
    for endpoint in ("Evaluation", "Base", "Champion")
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

# checkov: (check, what it asks) -> why it does not apply here.
CHECKOV_REASONS: dict[tuple[str, str], str] = {
    ("CKV_AWS_116", "validator has a dead-letter queue"): (
        "Only the two state machines invoke the validation function, synchronously: their "
        "lambda:invoke tasks set no InvocationType, so Lambda runs RequestResponse and the task "
        "gets the result or the error, which its Retry and Catch handle "
        "(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). A dead-letter queue "
        "only receives failed asynchronous invocations "
        "(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)."
    ),
    ("CKV_AWS_117", "validator runs in a VPC"): (
        "network.vpc is off in this environment: there is no VPC to run in. The function makes "
        "no network calls (standard library only); with network.vpc on it runs in the jobs' "
        "isolated subnets behind a security group that allows nothing."
    ),
    ("CKV_AWS_116", "cost function has a dead-letter queue"): (
        "Only the training state machine invokes the cost function, synchronously (RequestResponse,"
        " as for the validation function); its task's Catch records a failure as the cost being "
        "unavailable. A dead-letter queue only receives failed asynchronous invocations."
    ),
    ("CKV_AWS_117", "cost function runs in a VPC"): (
        "The function calls only the SageMaker API (Describe*Job) and S3 (the run's reports and "
        "cost.json) through the role's narrow grants, and serves nothing; it runs outside the "
        "VPC in every environment so that it needs no security group or VPC endpoint of its own."
    ),
    ("CKV_AWS_116", "default security group handler has a dead-letter queue"): (
        "CDK's handler that empties the VPC's default security group is invoked by CloudFormation "
        "alone, asynchronously, and reports every outcome, failures included, to CloudFormation's "
        "callback URL, which fails and rolls back the deployment "
        "(https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html): a "
        "dead-letter queue would hold a request nobody can answer any more."
    ),
    ("CKV_AWS_117", "default security group handler runs in a VPC"): (
        "CDK's handler that empties the VPC's default security group calls the EC2 API and "
        "answers CloudFormation's callback URL in S3; the VPC's isolated subnets have no EC2 "
        "endpoint and no route out, so inside the VPC it could do neither."
    ),
}


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
    validator: InputValidator,
    network: JobNetwork | None,
    run_cost: RunCostFunction,
) -> None:
    """Acknowledges the workflow stack's accepted findings, cdk-nag's and checkov's.

    Args:
        policies: each role with the statements of its inline policy.
        validator: the input-validation function, its role and the role's statements.
        network: the jobs' VPC (``network.vpc``), or None.
        run_cost: the cost step's function (its role is among ``policies``).
    """
    for role, statements in [*policies, (validator.role, validator.statements)]:
        acknowledge_role_wildcards(role, statements)
        # Statements CDK adds itself (the state machine's logs and X-Ray) land in DefaultPolicy.
        generated: IConstruct | None = role.node.try_find_child("DefaultPolicy")
        if generated is not None:
            acknowledge(
                generated, "AwsSolutions-IAM5", GENERATED_POLICY_REASON, finding="Resource::*"
            )
    acknowledge(validator.function, "AwsSolutions-L1", RUNTIME_REASON)
    acknowledge(run_cost.function, "AwsSolutions-L1", RUNTIME_REASON)
    _skip(run_cost.function, "CKV_AWS_116", "cost function has a dead-letter queue")
    _skip(run_cost.function, "CKV_AWS_117", "cost function runs in a VPC")
    _skip(validator.function, "CKV_AWS_116", "validator has a dead-letter queue")
    if network is None:
        _skip(validator.function, "CKV_AWS_117", "validator runs in a VPC")
    elif network.default_security_group_handler is not None:
        handler = network.default_security_group_handler
        _skip(handler, "CKV_AWS_116", "default security group handler has a dead-letter queue")
        _skip(handler, "CKV_AWS_117", "default security group handler runs in a VPC")


def _skip(construct: IConstruct, check: str, what: str) -> None:
    skip_checkov(construct, check, CHECKOV_REASONS[(check, what)])
