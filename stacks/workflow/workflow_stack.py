"""Training workflow: the state machine, its roles, code, network, registry and monitoring."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import workflow as contract
from stacks.budget import MonthlyBudget
from stacks.config_schema import MODEL_PACKAGE_GROUP_PREFIX, EnvironmentConfig
from stacks.run_resources import run_resources
from stacks.storage import StorageStack, kept_models_writer_name
from stacks.workflow.code_asset import CodeAsset
from stacks.workflow.endpoint_role import endpoint_execution_statements
from stacks.workflow.images import resolve_images
from stacks.workflow.job_image import JOB_IMAGE
from stacks.workflow.job_wheels import JobWheels
from stacks.workflow.nag_acknowledgements import acknowledge_workflow
from stacks.workflow.network import JobNetwork
from stacks.workflow.observability import NotificationTopic, WorkflowMonitoring
from stacks.workflow.roles import statement
from stacks.workflow.run_cost_function import RunCostFunction
from stacks.workflow.sagemaker_role import SAGEMAKER, sagemaker_execution_statements, vpc_statements
from stacks.workflow.state_machine import TrainingStateMachine
from stacks.workflow.state_machine_role import state_machine_statements
from stacks.workflow.steps.common import StepContext
from stacks.workflow.stopped_run_cleanup import StoppedRunCleanup
from stacks.workflow.stopped_run_cleanup_role import stopped_run_cleanup_statements
from stacks.workflow.validator import InputValidator

ROOT = Path(__file__).resolve().parents[2]


class TrainingWorkflowStack(Stack):
    """One state machine from raw data to a gated, registered model, with nothing left running.

    A run that is stopped or times out is cleaned up by a second state machine,
    ``stopped_run_cleanup``, which an EventBridge rule starts (``WorkflowMonitoring``).

    For the other stacks: ``topic`` (run notifications), ``state_machine``, ``sagemaker_role``
    (execution role of the jobs), ``endpoint_role`` (the read-only execution role of the
    temporary endpoints' models), ``model_package_group_name`` (the project's model registry
    group) and ``inference_code`` (the packaged serving code).
    """

    @property
    def availability_zones(self) -> list[str]:
        """Two zones resolved by CloudFormation (``Fn::GetAZs``) instead of a context lookup,
        so synthesizing another account's stacks (the pipeline) needs no credentials for it."""
        return [Fn.select(index, Fn.get_azs()) for index in (0, 1)]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self._policies: list[tuple[iam.Role, list[iam.PolicyStatement]]] = []
        self.removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.images = resolve_images(self.region, config.images)
        self.training_code = CodeAsset(self, "TrainingCode", source=ROOT / "training_code")
        self.inference_code = CodeAsset(self, "InferenceCode", source=ROOT / "inference_code")
        self.job_wheels = JobWheels(
            self,
            "JobWheels",
            lock=ROOT / "training_code" / "requirements.lock",
            image=None if config.is_local else JOB_IMAGE,
        )
        self.network = (
            JobNetwork(self, "Network", logs=storage.logs) if config.network.vpc else None
        )
        # Named exports rather than CDK's generated ones, so the cdk-nag acknowledgements of
        # the wildcard prefixes in these buckets can name them as the template does.
        self.data_arn = _named_export(storage, storage.data.bucket_arn, "WorkflowDataBucketArn")
        self.artifacts_arn = _named_export(
            storage, storage.artifacts.bucket_arn, "WorkflowArtifactsBucketArn"
        )
        self.model_package_group_name = self._model_registry(config)
        self.topic = NotificationTopic(
            self, "Notifications", key=storage.key, emails=config.notification_emails
        ).topic
        if config.budget is not None:
            MonthlyBudget(
                self,
                "Budget",
                config=config.budget,
                environment=config.name,
                topic=self.topic,
                key=storage.key,
            )
        self.validator = InputValidator(
            self,
            "InputValidator",
            environment=self._validator_environment(storage),
            logs=storage.logs,
            network=self.network,
        )
        self.run_cost = RunCostFunction(
            self,
            "RunCost",
            config=config,
            artifacts_arn=self.artifacts_arn,
            key=storage.key,
            logs=storage.logs,
        )
        self._policies.append((self.run_cost.role, self.run_cost.statements))
        state_machine_role = self._roles(storage)
        self.state_machine = self._state_machine(storage, state_machine_role)
        self.stopped_run_cleanup = self._stopped_run_cleanup(storage)
        WorkflowMonitoring(
            self,
            "Monitoring",
            state_machine=self.state_machine,
            stopped_run_cleanup=self.stopped_run_cleanup,
            topic=self.topic,
        )
        self._outputs()
        acknowledge_workflow(
            policies=self._policies,
            validator=self.validator,
            network=self.network,
            run_cost=self.run_cost,
        )

    def _model_registry(self, config: EnvironmentConfig) -> str:
        """The model package group the gate registers into; returns its name."""
        name = f"{MODEL_PACKAGE_GROUP_PREFIX}{config.name}"
        registry = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=name,
            model_package_group_description="Fine-tuned models that passed the quality gate",
        )
        registry.apply_removal_policy(self.removal)
        return name

    def _roles(self, storage: StorageStack) -> iam.Role:
        """The jobs' and the endpoints' execution roles; returns the state machine's role."""
        self.sagemaker_role = self._role(
            "SageMakerRole",
            SAGEMAKER,
            "Execution role of the fine-tuning jobs",
            self._sagemaker_statements(storage),
        )
        self.endpoint_role = self._role(
            "EndpointRole",
            SAGEMAKER,
            "Read-only execution role of the fine-tuning runs' evaluation and base models",
            self._endpoint_statements(storage),
        )
        return self._role(
            "StateMachineRole",
            iam.ServicePrincipal("states.amazonaws.com"),
            "Runs the fine-tuning state machine's tasks",
            [
                *state_machine_statements(
                    self,
                    sagemaker_role=self.sagemaker_role,
                    endpoint_role=self.endpoint_role,
                    validator_arn=self.validator.function.function_arn,
                    artifacts_arn=self.artifacts_arn,
                    key=storage.key,
                    topic_arn=self.topic.topic_arn,
                    model_package_group=self.model_package_group_name,
                    champion_pin=self._champion_pin(),
                ),
                statement(
                    "CostTheRun", ["lambda:InvokeFunction"], [self.run_cost.function.function_arn]
                ),
            ],
            # The one role the artifacts bucket lets write models/ (storage.py).
            role_name=kept_models_writer_name(self.config),
        )

    def _outputs(self) -> None:
        CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(
            self,
            "StoppedRunCleanupStateMachineArn",
            value=self.stopped_run_cleanup.state_machine_arn,
        )
        CfnOutput(self, "ModelPackageGroupName", value=self.model_package_group_name)
        CfnOutput(self, "NotificationTopicArn", value=self.topic.topic_arn)

    def _role(
        self,
        construct_id: str,
        principal: iam.IPrincipal,
        description: str,
        statements: list[iam.PolicyStatement],
        role_name: str | None = None,
    ) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=principal,
            description=description,
            role_name=role_name,
            inline_policies={"Permissions": iam.PolicyDocument(statements=statements)},
        )
        self._policies.append((role, statements))
        return role

    def _sagemaker_statements(self, storage: StorageStack) -> list[iam.PolicyStatement]:
        statements = sagemaker_execution_statements(
            self,
            data_arn=self.data_arn,
            artifacts_arn=self.artifacts_arn,
            key=storage.key,
            code=self.training_code.read_statements() + self.job_wheels.read_statements(),
            image_repositories=self.images.job_repository_arns(self.partition),
        )
        return statements + self._network_statements()

    def _endpoint_statements(self, storage: StorageStack) -> list[iam.PolicyStatement]:
        statements = endpoint_execution_statements(
            self,
            data_arn=self.data_arn,
            artifacts_arn=self.artifacts_arn,
            key=storage.key,
            image_repository=self.images.serving_repository_arn(self.partition),
        )
        return statements + self._network_statements()

    def _champion_pin(self) -> str | None:
        """The model package the serving stack pins, where it is the champion (else None)."""
        pin = self.config.serving_model
        if self.config.evaluation.champion != "serving" or not pin or not pin.startswith("arn:"):
            return None
        return pin

    def _network_statements(self) -> list[iam.PolicyStatement]:
        """The VPC's network interfaces, for the jobs and models that run in it."""
        return [] if self.network is None else vpc_statements(self.network.vpc.vpc_arn)

    def _state_machine(self, storage: StorageStack, role: iam.Role) -> sfn.StateMachine:
        ctx = StepContext(
            config=self.config,
            images=self.images,
            sagemaker_role_arn=self.sagemaker_role.role_arn,
            endpoint_role_arn=self.endpoint_role.role_arn,
            key_arn=storage.key.key_arn,
            network=self.network,
        )
        return TrainingStateMachine(
            self,
            "Training",
            ctx=ctx,
            validator=self.validator.function,
            cost_function=self.run_cost.function,
            topic_arn=self.topic.topic_arn,
            model_package_group=self.model_package_group_name,
            role=role,
            logs=storage.logs,
        ).state_machine

    def _stopped_run_cleanup(self, storage: StorageStack) -> sfn.StateMachine:
        role = self._role(
            "StoppedRunCleanupRole",
            iam.ServicePrincipal("states.amazonaws.com"),
            "Deletes the temporary endpoints of fine-tuning runs that were stopped or timed out "
            "(and of failed ones, in case the failure skipped their cleanup)",
            stopped_run_cleanup_statements(
                self,
                validator_arn=self.validator.function.function_arn,
                key=storage.key,
                topic_arn=self.topic.topic_arn,
            ),
        )
        return StoppedRunCleanup(
            self,
            "StoppedRunCleanup",
            validator=self.validator.function,
            topic_arn=self.topic.topic_arn,
            role=role,
            logs=storage.logs,
        ).state_machine

    def _validator_environment(self, storage: StorageStack) -> dict[str, str]:
        """The defaults and locations the validation Lambda fills into every run's plan."""
        config = self.config
        offline = config.network.vpc or config.network.network_isolation
        return {
            contract.ENV_ARTIFACTS_BUCKET: storage.artifacts.bucket_name,
            contract.ENV_DATA_BUCKET: storage.data.bucket_name,
            contract.ENV_CODE_URI: self.training_code.s3_uri,
            contract.ENV_WHEELS_URI: self.job_wheels.s3_uri,
            contract.ENV_TRAINING_INSTANCE_COUNT: str(config.training.instance_count),
            contract.ENV_DEFAULT_METRIC: config.evaluation.metric,
            contract.ENV_DEFAULT_THRESHOLD: str(config.evaluation.threshold),
            contract.ENV_DEFAULT_MAX_SAMPLES: str(config.evaluation.max_samples),
            contract.ENV_DEFAULT_COMPARE_WITH: config.evaluation.compare_with,
            contract.ENV_DEFAULT_MIN_IMPROVEMENT: str(config.evaluation.min_improvement),
            contract.ENV_INTERNET_ACCESS: "false" if offline else "true",
            contract.ENV_RUN_RESOURCES: json.dumps(dataclasses.asdict(run_resources(config))),
        }


def _named_export(storage: Stack, value: str, name: str) -> str:
    """``value`` exported from ``storage`` as ``<stack name>:<name>``, imported here."""
    export_name = f"{storage.stack_name}:{name}"
    if storage.node.try_find_child(f"Export{export_name}") is None:
        storage.export_value(value, name=export_name)
    return Fn.import_value(export_name)
