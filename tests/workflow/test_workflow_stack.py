"""The workflow stack's resources per environment: monitoring, network, jobs, registry."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import App, assertions

from stacks.config import load_config
from stacks.nag import add_checks
from stacks.stage import FineTuningStage
from tests.workflow.template_values import state_machine_definition, validator_environment


def _request(resolver, state: str) -> dict:
    return state_machine_definition(resolver)["States"][state]["Parameters"]


def test_the_state_machine_logs_everything_and_traces(any_env):
    template = any_env.template("Workflow")
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True},
            "TracingConfiguration": {"Enabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": assertions.Match.string_like_regexp("^/aws/vendedlogs/states/")},
    )


def test_the_topic_is_encrypted_with_the_project_key_and_refuses_plain_http(any_env):
    template = any_env.templates["Workflow"]
    (topic,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    assert "Key961B73FD" in str(topic["Properties"]["KmsMasterKeyId"])
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Roles publish by their IAM policies; alarms need the topic policy (next test), as this
    # policy replaces SNS's default one, and so does the budget (tests/infra/test_budget.py);
    # EventBridge starts the stopped-run cleanup instead.
    allowed = [s["Sid"] for s in statements if s["Effect"] == "Allow"]
    assert allowed == ["AlarmsPublish", "BudgetsPublish"]


def test_failed_executions_alarm_and_stopped_ones_are_cleaned_up(any_env):
    template = any_env.template("Workflow")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": assertions.Match.string_like_regexp("^NotificationsTopic")}],
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"]},
            },
            "Targets": [
                assertions.Match.object_like(
                    {
                        "Arn": {
                            "Ref": assertions.Match.string_like_regexp(
                                "^StoppedRunCleanupStateMachine"
                            )
                        }
                    }
                )
            ],
        },
    )
    body = str(template.find_resources("AWS::CloudWatch::Dashboard"))
    for metric in (
        "ExecutionsFailed",
        "ServiceIntegrationRunTime",
        "ModelLatency",
        "Invocation5XXErrors",
    ):
        assert metric in body


def test_alarms_may_use_the_encrypted_topic_and_only_this_account_s_alarms(any_env):
    key = any_env.templates["Storage"]["Resources"]["Key961B73FD"]["Properties"]
    (statement,) = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    storage = any_env.stacks["Storage"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": storage.account},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:cloudwatch:{storage.region}:{storage.account}:alarm:*"
        },
    }


def test_emails_in_config_subscribe_to_the_topic(tmp_path):
    local = load_config().environment("local")
    config = dataclasses.replace(local, notification_emails=("ml-team@example.com",))
    app = App(outdir=str(tmp_path))
    stage = FineTuningStage(app, "Local", config=config)
    add_checks(app)
    template = assertions.Template.from_stack(stage.workflow)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-team@example.com"}
    )


def test_the_model_package_group_and_approval_follow_the_environment(resolver_for):
    for env_name, approval in [("dev", "Approved"), ("staging", "PendingManualApproval")]:
        resolver = resolver_for(env_name)
        _, group = resolver.only("AWS::SageMaker::ModelPackageGroup")
        assert group["Properties"]["ModelPackageGroupName"] == f"llm-finetune-{env_name}"
        register = _request(resolver, "Register the model")
        assert register["ModelApprovalStatus"] == approval
        assert register["ModelPackageGroupName"] == f"llm-finetune-{env_name}"


@pytest.mark.parametrize(("env_name", "spot"), [("dev", True), ("prod", False)])
def test_spot_training_waits_as_configured(resolver_for, env_name, spot):
    training = _request(resolver_for(env_name), "Train the model")
    assert training["EnableManagedSpotTraining"] is spot
    stopping = training["StoppingCondition"]
    if spot:
        assert stopping == {"MaxRuntimeInSeconds": 480 * 60, "MaxWaitTimeInSeconds": 960 * 60}
    else:
        assert stopping == {"MaxRuntimeInSeconds": 720 * 60}
    assert training["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"


def test_vpc_mode_isolates_jobs_and_encrypts_between_instances(resolver_for):
    staging = resolver_for("staging")
    training = _request(staging, "Train the model")
    assert training["EnableNetworkIsolation"] is True
    assert training["EnableInterContainerTrafficEncryption"] is True
    assert set(training["VpcConfig"]) == {"SecurityGroupIds", "Subnets"}
    assert len(training["VpcConfig"]["Subnets"]) == 2
    prepare = _request(staging, "Prepare the data")["NetworkConfig"]
    assert prepare["EnableNetworkIsolation"] is True
    evaluate = _request(staging, "Evaluate the model")["NetworkConfig"]
    assert evaluate["EnableNetworkIsolation"] is False  # it calls the endpoint
    assert "VpcConfig" in evaluate
    for model in ("Create the evaluation model", "Create the base model"):
        assert _request(staging, model)["EnableNetworkIsolation"] is True
        assert set(_request(staging, model)["VpcConfig"]) == {"SecurityGroupIds", "Subnets"}
    assert validator_environment(staging)["INTERNET_ACCESS"] == "false"
    endpoints = staging.resources("AWS::EC2::VPCEndpoint")
    services = sorted(str(e["Properties"]["ServiceName"]) for e in endpoints.values())
    assert len(services) == 5
    for name in ("s3", "sagemaker.api", "sagemaker.runtime", "logs", "sts"):
        assert any(name in service for service in services), (name, services)
    assert staging.resources("AWS::EC2::NatGateway") == {}
    assert staging.resources("AWS::EC2::FlowLog")


@pytest.mark.parametrize("env_name", ["local", "dev"])
def test_without_vpc_mode_there_is_no_network(resolver_for, env_name):
    resolver = resolver_for(env_name)
    assert resolver.resources("AWS::EC2::VPC") == {}
    assert "VpcConfig" not in _request(resolver, "Train the model")
    assert validator_environment(resolver)["INTERNET_ACCESS"] == "true"


def test_volume_keys_only_where_the_instance_has_no_local_storage(resolver_for):
    dev = resolver_for("dev")
    # ml.g5 instances carry NVMe storage, which SageMaker encrypts itself and refuses a key for.
    assert "VolumeKmsKeyId" not in _request(dev, "Train the model")["ResourceConfig"]
    cluster = _request(dev, "Prepare the data")["ProcessingResources"]["ClusterConfig"]
    assert cluster["VolumeKmsKeyId"].startswith("arn:aws:kms:")


def test_the_validator_gets_the_environment_defaults(resolver_for):
    env = validator_environment(resolver_for("prod"))
    assert env["DEFAULT_THRESHOLD"] == "0.75"
    assert env["DEFAULT_METRIC"] == "exact_match"
    assert env["CODE_URI"].startswith("s3://cdk-hnb659fds-assets-")
    assert env["CODE_URI"].endswith(".gz")


def test_the_stack_exposes_what_the_serving_stack_needs(synth_env):
    stack = synth_env("local").stacks["Workflow"]
    assert stack.model_package_group_name == "llm-finetune-local"
    attributes = ("topic", "state_machine", "sagemaker_role", "endpoint_role", "inference_code")
    for attribute in attributes:
        assert getattr(stack, attribute) is not None


def test_this_account_s_alarms_may_publish_to_the_topic(any_env):
    """The TLS-only topic policy replaces SNS's default policy, under which alarms published."""
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in any_env.templates["Workflow"]["Resources"].values()
        if r["Type"] == "AWS::SNS::TopicPolicy"
    ]
    (allow,) = [s for s in policy if s.get("Sid") == "AlarmsPublish"]
    storage = any_env.stacks["Storage"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": storage.account},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:cloudwatch:{storage.region}:{storage.account}:alarm:*"
        },
    }
    assert any(s["Effect"] == "Deny" and s["Sid"] == "AllowPublishThroughSSLOnly" for s in policy)
