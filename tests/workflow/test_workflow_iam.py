"""Least privilege: every statement of the workflow's roles, exactly."""

from __future__ import annotations

import pytest

from contracts import workflow as contract
from localcloud.iam import policy as iam_policy
from localcloud.sagemaker import sfn_permissions
from tests.workflow.template_values import state_machine_definition

ACCOUNT_REGION = "us-east-1:123456789012"
SAGEMAKER = f"arn:aws:sagemaker:{ACCOUNT_REGION}"
ARTIFACTS = "arn:aws:s3:::artifacts82dd59a1"
DATA = "arn:aws:s3:::data666c94c7"
KEY = f"arn:aws:kms:{ACCOUNT_REGION}:key/key961b73fd"
ROLE = "arn:aws:iam::123456789012:role"
JOBS_ROLE = f"{ROLE}/SageMakerRoleD4FCFA3F"
ENDPOINT_ROLE = f"{ROLE}/EndpointRole1A3BA5E6"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _statements(resolver, logical_prefix: str) -> dict[str, tuple]:
    """Sid -> (actions, resources, condition) of the role's inline policy."""
    (role,) = [
        resource
        for logical_id, resource in resolver.resources("AWS::IAM::Role").items()
        if logical_id.startswith(logical_prefix)
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    (policy,) = resolver.resolve(role["Properties"]["Policies"])
    return {
        statement["Sid"]: (
            sorted(_as_list(statement["Action"])),
            sorted(_as_list(statement["Resource"])),
            statement.get("Condition"),
        )
        for statement in policy["PolicyDocument"]["Statement"]
    }


def test_the_state_machine_role_holds_exactly_what_its_tasks_call(resolver_for):
    statements = _statements(resolver_for("local"), "StateMachineRole")
    assert statements == {
        "ValidateInput": (
            ["lambda:InvokeFunction"],
            [f"arn:aws:lambda:{ACCOUNT_REGION}:function:InputValidatorFunctionA6714C0E"],
            None,
        ),
        "RunProcessingJobs": (
            ["sagemaker:AddTags", "sagemaker:CreateProcessingJob",
             "sagemaker:DescribeProcessingJob", "sagemaker:ListTags",
             "sagemaker:StopProcessingJob"],
            [f"{SAGEMAKER}:processing-job/*-evaluate", f"{SAGEMAKER}:processing-job/*-prepare"],
            None,
        ),
        "RunTrainingJob": (
            ["sagemaker:AddTags", "sagemaker:CreateTrainingJob",
             "sagemaker:DescribeTrainingJob", "sagemaker:ListTags", "sagemaker:StopTrainingJob"],
            [f"{SAGEMAKER}:training-job/*-train"],
            None,
        ),
        "FollowJobs": (
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            [
                f"arn:aws:events:{ACCOUNT_REGION}:rule/{rule}"
                for rule in ("StepFunctionsGetEventsForSageMakerProcessingJobsRule",
                             "StepFunctionsGetEventsForSageMakerTrainingJobsRule")
            ],
            None,
        ),
        "ManageEvaluationModel": (
            ["sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DeleteModel",
             "sagemaker:ListTags"],
            [f"{SAGEMAKER}:model/*-eval"],
            None,
        ),
        "ManageEvaluationEndpointConfig": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpointConfig",
             "sagemaker:DeleteEndpointConfig", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint-config/*-eval"],
            None,
        ),
        "ManageEvaluationEndpoint": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint",
             "sagemaker:DescribeEndpoint", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint/*-eval"],
            None,
        ),
        "CreateEvaluationEndpointFromItsConfig": (
            ["sagemaker:CreateEndpoint"], [f"{SAGEMAKER}:endpoint-config/*-eval"], None
        ),
        "ManageBaseModel": (
            ["sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DeleteModel",
             "sagemaker:ListTags"],
            [f"{SAGEMAKER}:model/*-base"],
            None,
        ),
        "ManageBaseEndpointConfig": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpointConfig",
             "sagemaker:DeleteEndpointConfig", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint-config/*-base"],
            None,
        ),
        "ManageBaseEndpoint": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint",
             "sagemaker:DescribeEndpoint", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint/*-base"],
            None,
        ),
        "CreateBaseEndpointFromItsConfig": (
            ["sagemaker:CreateEndpoint"], [f"{SAGEMAKER}:endpoint-config/*-base"], None
        ),
        "ManageChampionModel": (
            ["sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DeleteModel",
             "sagemaker:ListTags"],
            [f"{SAGEMAKER}:model/*-champion"],
            None,
        ),
        "ManageChampionEndpointConfig": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpointConfig",
             "sagemaker:DeleteEndpointConfig", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint-config/*-champion"],
            None,
        ),
        "ManageChampionEndpoint": (
            ["sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint",
             "sagemaker:DescribeEndpoint", "sagemaker:ListTags"],
            [f"{SAGEMAKER}:endpoint/*-champion"],
            None,
        ),
        "CreateChampionEndpointFromItsConfig": (
            ["sagemaker:CreateEndpoint"], [f"{SAGEMAKER}:endpoint-config/*-champion"], None
        ),
        # The champion: listed and read in this environment's group only.
        "FindChampion": (
            ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            [f"{SAGEMAKER}:model-package-group/llm-finetune-local",
             f"{SAGEMAKER}:model-package/llm-finetune-local/*"],
            None,
        ),
        "PassExecutionRole": (
            ["iam:PassRole"],
            [ENDPOINT_ROLE, JOBS_ROLE],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        "ListTrainedModels": (
            ["s3:ListBucket"], [ARTIFACTS], {"StringLike": {"s3:prefix": ["runs/*/model/*"]}}
        ),
        "KeepTrainedModels": (["s3:GetObject"], [f"{ARTIFACTS}/runs/*/model/*"], None),
        "WriteKeptModels": (["s3:PutObject"], [f"{ARTIFACTS}/models/*"], None),
        "ReadEvaluationReport": (
            ["s3:GetObject"], [f"{ARTIFACTS}/runs/*/evaluation/report.json"], None
        ),
        "RegisterModel": (
            ["sagemaker:CreateModelPackage"],
            [f"{SAGEMAKER}:model-package-group/llm-finetune-local",
             f"{SAGEMAKER}:model-package/llm-finetune-local/*"],
            None,
        ),
        "Notify": (
            ["sns:Publish"], [f"arn:aws:sns:{ACCOUNT_REGION}:NotificationsTopicAE679CBD"], None
        ),
        "UseKey": (["kms:Decrypt", "kms:GenerateDataKey"], [KEY], None),
        "CostTheRun": (
            ["lambda:InvokeFunction"],
            [f"arn:aws:lambda:{ACCOUNT_REGION}:function:RunCostFunction24D172A4"],
            None,
        ),
    }  # fmt: skip


def test_the_cost_function_describes_the_run_s_jobs_and_writes_only_its_cost(resolver_for):
    statements = _statements(resolver_for("local"), "RunCostRole")
    reports = [
        f"{ARTIFACTS}/runs/*/evaluation/report.html",
        f"{ARTIFACTS}/runs/*/evaluation/report.json",
    ]
    assert statements == {
        "WriteItsLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{ACCOUNT_REGION}:log-group:RunCostLogs30A16312:*"],
            None,
        ),
        "DescribeRunProcessingJobs": (
            ["sagemaker:DescribeProcessingJob"],
            [f"{SAGEMAKER}:processing-job/*-evaluate", f"{SAGEMAKER}:processing-job/*-prepare"],
            None,
        ),
        "DescribeRunTrainingJob": (
            ["sagemaker:DescribeTrainingJob"], [f"{SAGEMAKER}:training-job/*-train"], None
        ),
        "ReadRunReports": (["s3:GetObject"], reports, None),
        "WriteRunCosts": (
            ["s3:PutObject"], sorted([f"{ARTIFACTS}/runs/*/cost.json", *reports]), None
        ),
        "UseKey": (["kms:Decrypt", "kms:GenerateDataKey"], [KEY], None),
    }  # fmt: skip


def test_the_sagemaker_role_is_scoped_to_the_project(resolver_for):
    statements = _statements(resolver_for("local"), "SageMakerRole")
    assert statements["ReadData"] == (
        ["s3:GetObject"], [f"{ARTIFACTS}/models/*", f"{ARTIFACTS}/runs/*", f"{DATA}/*"], None
    )  # fmt: skip
    assert statements["WriteRuns"] == (
        ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
        [f"{ARTIFACTS}/runs/*"],
        None,
    )
    assert statements["ListRuns"][2] == {"StringLike": {"s3:prefix": ["runs/*", "models/*"]}}
    # The jobs may read the kept models but never write them: only the state machine does.
    assert all("models" not in r for r in statements["WriteRuns"][1])
    assert statements["UseKey"][1] == [KEY]
    assert statements["EncryptVolumes"][2] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # The jobs' images only, and the jobs' log groups only: the endpoints have their own role.
    assert statements["PullImages"][1] == [
        "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-training",
    ]
    assert statements["WriteLogs"][1] == [
        f"arn:aws:logs:{ACCOUNT_REGION}:log-group:/aws/sagemaker/{group}:*"
        for group in ("ProcessingJobs", "TrainingJobs")
    ]
    assert statements["InvokeEvaluationEndpoint"] == (
        ["sagemaker:InvokeEndpoint"],
        [f"{SAGEMAKER}:endpoint/*-eval"],
        None,
    )
    # The evaluation job also calls the base model's endpoint when the run compares with it.
    assert statements["InvokeBaseEndpoint"] == (
        ["sagemaker:InvokeEndpoint"],
        [f"{SAGEMAKER}:endpoint/*-base"],
        None,
    )
    assert statements["InvokeChampionEndpoint"] == (
        ["sagemaker:InvokeEndpoint"],
        [f"{SAGEMAKER}:endpoint/*-champion"],
        None,
    )
    invoked = [
        sid for sid, (actions, _, _) in statements.items() if "sagemaker:InvokeEndpoint" in actions
    ]
    assert invoked == ["InvokeEvaluationEndpoint", "InvokeBaseEndpoint", "InvokeChampionEndpoint"]
    (code_object,) = statements["ReadTrainingCode"][1]
    assert code_object.startswith("arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1/")
    # Only actions without a resource type may use "*", each under a reason (or a condition).
    unscoped = {sid for sid, (_, resources, _) in statements.items() if resources == ["*"]}
    assert unscoped == {"PutMetrics", "EcrLogin"}
    assert statements["PutMetrics"][2] == {
        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}
    }


def test_the_endpoints_role_reads_models_and_writes_nothing_to_s3(resolver_for):
    """The temporary models' role: a model server's reads, its logs, metrics and image."""
    statements = _statements(resolver_for("local"), "EndpointRole")
    endpoint_logs = f"arn:aws:logs:{ACCOUNT_REGION}:log-group:/aws/sagemaker/Endpoints"
    assert statements == {
        "ReadModels": (["s3:GetObject"], [f"{ARTIFACTS}/models/*", f"{DATA}/*"], None),
        "ListData": (["s3:ListBucket"], [DATA], None),
        "ListModels": (
            ["s3:ListBucket"], [ARTIFACTS], {"StringLike": {"s3:prefix": ["models/*"]}}
        ),
        "DecryptModels": (["kms:Decrypt", "kms:DescribeKey"], [KEY], None),
        "WriteEndpointLogs": (
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
             "logs:PutLogEvents"],
            [f"{endpoint_logs}/*-base", f"{endpoint_logs}/*-base:*",
             f"{endpoint_logs}/*-champion", f"{endpoint_logs}/*-champion:*",
             f"{endpoint_logs}/*-eval", f"{endpoint_logs}/*-eval:*"],
            None,
        ),
        "PutMetrics": (
            ["cloudwatch:PutMetricData"],
            ["*"],
            {"StringEquals": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints"]}},
        ),
        "PullImages": (
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
             "ecr:GetDownloadUrlForLayer"],
            ["arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"],
            None,
        ),
        "EcrLogin": (["ecr:GetAuthorizationToken"], ["*"], None),
    }  # fmt: skip


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_the_temporary_models_run_as_the_read_only_role(resolver_for, env_name):
    """A model server (and a model's own code) can overwrite no run's files: the evaluation and
    base models run as the endpoints' role, which has no S3 action but reads; the jobs keep
    the role that writes runs/."""
    resolver = resolver_for(env_name)
    definition = state_machine_definition(resolver)
    states = definition["States"]
    models = [
        states[name]["Parameters"]["ExecutionRoleArn"]
        for name in ("Create the evaluation model", "Create the base model")
    ]
    assert models == [ENDPOINT_ROLE, ENDPOINT_ROLE]
    jobs = {
        states[name]["Parameters"]["RoleArn"]
        for name in ("Prepare the data", "Train the model", "Evaluate the model")
    }
    assert jobs == {JOBS_ROLE}
    actions = {
        action
        for actions, _, _ in _statements(resolver, "EndpointRole").values()
        for action in actions
    }
    assert {action for action in actions if action.startswith("s3:")} == {
        "s3:GetObject",
        "s3:ListBucket",
    }
    assert not {action for action in actions if action.startswith(("sagemaker:", "iam:"))}
    assert not {action for action in actions if action == "kms:GenerateDataKey"}


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_no_wildcard_actions_and_no_full_access(resolver_for, env_name):
    resolver = resolver_for(env_name)
    for logical_id, role in resolver.resources("AWS::IAM::Role").items():
        managed = resolver.resolve(role["Properties"].get("ManagedPolicyArns", []))
        assert not [arn for arn in managed if "FullAccess" in arn], logical_id
        if logical_id.startswith(
            (
                "SageMakerRole",
                "EndpointRole",
                "StateMachineRole",
                "InputValidatorRole",
                "RunCostRole",
            )
        ):
            assert managed == [], logical_id
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                for action in _as_list(statement["Action"]):
                    assert "*" not in action, (logical_id, action)


def test_vpc_mode_lets_sagemaker_attach_interfaces_only_in_the_vpc(resolver_for):
    statements = _statements(resolver_for("staging"), "SageMakerRole")
    actions, _, condition = statements["ManageInterfaces"]
    assert actions == [
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ]
    assert list(condition["ArnEquals"]) == ["ec2:Vpc"]
    # The temporary models run in the VPC too, as the endpoints' role.
    assert _statements(resolver_for("staging"), "EndpointRole")["ManageInterfaces"] == (
        actions,
        ["*"],
        condition,
    )
    for role in ("SageMakerRole", "EndpointRole"):
        assert "ManageInterfaces" not in _statements(resolver_for("dev"), role)


def test_every_temporary_resource_the_definition_names_is_allowed(resolver_for, local_definition):
    """Each SageMaker name a state reads from the run plan has a statement for its suffix."""
    statements = _statements(resolver_for("local"), "StateMachineRole")
    allowed: dict[str, set[str]] = {}
    for actions, resources, _ in statements.values():
        for resource in resources:
            if resource.startswith(SAGEMAKER):
                allowed.setdefault(resource.rsplit(":", 1)[1], set()).update(actions)
    calls = {
        "createModel": ("model", "ModelName.$", "sagemaker:CreateModel"),
        "deleteModel": ("model", "ModelName.$", "sagemaker:DeleteModel"),
        "createEndpointConfig": (
            "endpoint-config", "EndpointConfigName.$", "sagemaker:CreateEndpointConfig"
        ),
        "deleteEndpointConfig": (
            "endpoint-config", "EndpointConfigName.$", "sagemaker:DeleteEndpointConfig"
        ),
        "createEndpoint": ("endpoint", "EndpointName.$", "sagemaker:CreateEndpoint"),
        "describeEndpoint": ("endpoint", "EndpointName.$", "sagemaker:DescribeEndpoint"),
        "deleteEndpoint": ("endpoint", "EndpointName.$", "sagemaker:DeleteEndpoint"),
    }  # fmt: skip
    checked = 0
    for name, state in local_definition["States"].items():
        action = state.get("Resource", "").rsplit(":", 1)[-1]
        if action not in calls:
            continue
        kind, parameter, iam_action = calls[action]
        key = state["Parameters"][parameter].removeprefix("$.run.names.")
        pattern = f"{kind}/*{contract.NAME_SUFFIXES[key]}"
        assert iam_action in allowed.get(pattern, set()), (name, pattern)
        checked += 1
    assert checked == 27  # 3 endpoints x (3 creates, 2 describes, 1 look-up, 3 deletes)


# What each Step Functions SageMaker integration creates, and the parameter naming it.
_CREATED_BY_INTEGRATION = {
    "createTrainingJob.sync": ("training-job", "TrainingJobName.$"),
    "createProcessingJob.sync": ("processing-job", "ProcessingJobName.$"),
    "createModel": ("model", "ModelName.$"),
    "createEndpointConfig": ("endpoint-config", "EndpointConfigName.$"),
    "createEndpoint": ("endpoint", "EndpointName.$"),
}


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_the_sagemaker_integration_may_list_the_tags_of_what_it_creates(resolver_for, env_name):
    """AWS's policies for Step Functions' SageMaker integration, and CDK's own SageMaker tasks,
    grant sagemaker:ListTags beside each create; here on the run's resources only."""
    resolver = resolver_for(env_name)
    statements = _statements(resolver, "StateMachineRole")
    # arn:aws:sagemaker:REGION:ACCOUNT:<kind>/<name pattern> -> <kind>/<name pattern>
    listable = {
        resource.split(":", 5)[5]
        for actions, resources, _ in statements.values()
        if "sagemaker:ListTags" in actions
        for resource in resources
        if resource.startswith("arn:aws:sagemaker:")
    }
    unscoped = [
        resources
        for actions, resources, _ in statements.values()
        if "sagemaker:ListTags" in actions and not resources[0].startswith("arn:aws:sagemaker:")
    ]
    assert not unscoped
    created = set()
    for name, state in state_machine_definition(resolver)["States"].items():
        call = state.get("Resource", "").removeprefix("arn:aws:states:::sagemaker:")
        if call not in _CREATED_BY_INTEGRATION:
            continue
        kind, parameter = _CREATED_BY_INTEGRATION[call]
        key = state["Parameters"][parameter].removeprefix("$.run.names.")
        pattern = f"{kind}/*{contract.NAME_SUFFIXES[key]}"
        assert pattern in listable, (name, pattern)
        created.add(pattern)
    # prepare, train, evaluate; the evaluation, base and champion models, endpoint configs and
    # endpoints
    assert len(created) == 12
    assert listable == created


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_the_jobs_may_encrypt_their_outputs_with_the_environment_key_only(resolver_for, env_name):
    """OutputDataConfig.KmsKeyId (and ProcessingOutputConfig's) name the key; SageMaker's API
    reference: the execution role must then be allowed kms:Encrypt."""
    resolver = resolver_for(env_name)
    states = state_machine_definition(resolver)["States"]
    output_keys = {
        states["Train the model"]["Parameters"]["OutputDataConfig"]["KmsKeyId"],
        *(
            states[name]["Parameters"]["ProcessingOutputConfig"]["KmsKeyId"]
            for name in ("Prepare the data", "Evaluate the model")
        ),
    }
    (key,) = output_keys
    statements = _statements(resolver, "SageMakerRole")
    assert statements["UseKey"][1] == [key]  # the environment's key, as every job uses
    assert statements["EncryptJobOutputs"] == (["kms:Encrypt"], [key], None)
    encrypting = [sid for sid, (actions, _, _) in statements.items() if "kms:Encrypt" in actions]
    assert encrypting == ["EncryptJobOutputs"]


def _sample_request(parameters: dict) -> dict:
    """A task's request with each run name as one run would fill it in."""
    return {
        member.removesuffix(".$"): (
            f"run-1{contract.NAME_SUFFIXES[value.removeprefix('$.run.names.')]}"
            if member.endswith(".$") and value.startswith("$.run.names.")
            else value
        )
        for member, value in parameters.items()
    }


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_the_role_holds_what_aws_documents_for_each_sagemaker_integration(resolver_for, env_name):
    """Every permission AWS documents for the SageMaker integrations (the table the local
    cloud checks at task start: ListTags, the .sync managed rules, describe and stop, PassRole)
    is allowed by the state machine role, for the resources a run creates."""
    resolver = resolver_for(env_name)
    (role,) = [
        resource
        for logical_id, resource in resolver.resources("AWS::IAM::Role").items()
        if logical_id.startswith("StateMachineRole")
    ]
    documents = [p["PolicyDocument"] for p in resolver.resolve(role["Properties"]["Policies"])]
    principal = iam_policy.Principal(f"{ROLE}/StateMachineRole", f"{ROLE}/StateMachineRole", "1")
    # The environment's region and account, as the stack writes them into its ARNs.
    _, _, _, region, account, _ = next(
        r
        for actions, resources, _ in _statements(resolver, "StateMachineRole").values()
        for r in resources
        if r.startswith("arn:aws:sagemaker:")
    ).split(":", 5)
    checked = set()
    for name, state in state_machine_definition(resolver)["States"].items():
        resource = state.get("Resource", "")
        if not resource.startswith("arn:aws:states:::sagemaker:"):
            continue
        api_action, _, pattern = resource.removeprefix("arn:aws:states:::sagemaker:").partition(".")
        needs = sfn_permissions.required(
            api_action,
            pattern == "sync",
            _sample_request(state["Parameters"]),
            account=account,
            region=region,
        )
        assert needs, name
        for need in needs:
            request = iam_policy.Request(need.action, need.resource, need.context)
            decision = iam_policy.evaluate(request, principal, documents)
            assert decision is iam_policy.Decision.ALLOWED, (name, need)
            checked.add(need.action)
    assert {"sagemaker:ListTags", "events:PutRule", "iam:PassRole"} <= checked
