"""Serving: the persistent GPU endpoint of the model version pinned in config."""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from contracts import serving_images
from stacks.config_schema import EnvironmentConfig
from stacks.serving import cross_account_grants, promotion
from stacks.serving.alarms import EndpointAlarms, alarm_arns, alarm_names
from stacks.serving.autoscaling import EndpointAutoscaling
from stacks.serving.endpoint import VARIANT_NAME, ServingEndpoint
from stacks.serving.pinned_model import PinnedModel
from stacks.serving.serving_role import grant_runtime, serving_role
from stacks.storage import StorageStack
from stacks.workflow.images import repository_arn, resolve_images
from stacks.workflow.network import JobNetwork

ARTIFACTS_ARN_OUTPUT = "ArtifactsBucketArn"


class ServingStack(Stack):
    """The endpoint of ``config.serving_model``, or none when nothing is pinned.

    The stack exists in every environment, pinned or not, so that removing a pin deletes the
    endpoint through an ordinary stack update (CDK Pipelines never deletes a stack that
    disappears from the app). Unpinned, it holds only the serving role. It also writes the
    grants that let other accounts' endpoints read models stored in this one (``links``) into
    this account's artifacts bucket, key and model ``registry`` group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        topic: sns.ITopic | None = None,
        registry: sagemaker.CfnModelPackageGroup | None = None,
        links: promotion.CrossAccountLinks | None = None,
        network: JobNetwork | None = None,
        **kwargs,
    ) -> None:
        """``network``: the workflow's VPC where ``network.vpc`` is on; the endpoint runs in
        it as the jobs and the temporary endpoints do."""
        super().__init__(scope, construct_id, **kwargs)
        links = links or promotion.CrossAccountLinks()
        self.role = serving_role(self, "Role", config)
        # Deployed after storage, pinned or not: the pipeline orders stacks by dependencies.
        self.add_stack_dependency(storage)
        self._grant_model_readers(storage, registry, links.model_readers)
        self.endpoint: ServingEndpoint | None = None
        self.endpoint_name_output: CfnOutput | None = None
        if config.serving_model is None:
            return

        artifacts_arn = _artifacts_arn(storage)
        model = PinnedModel(
            self,
            "Model",
            config=config,
            role=self.role,
            artifacts_arn=artifacts_arn,
            key=storage.key,
            network=network,
        )
        self.endpoint = ServingEndpoint(
            self,
            "Endpoint",
            config=config.endpoint,
            model=model.model,
            container_startup_timeout_s=serving_images.MODEL_LOADING_TIMEOUT_S,
            capture_bucket=storage.artifacts,
            capture_key=storage.key,
            rollback_alarms=alarm_names(self),
        )
        EndpointAlarms(
            self,
            "Alarms",
            endpoint_name=self.endpoint.endpoint_name,
            variant_name=VARIANT_NAME,
            config=config.endpoint,
            topic=topic,
        )
        EndpointAutoscaling(
            self,
            "Autoscaling",
            endpoint_name=self.endpoint.endpoint_name,
            variant_name=VARIANT_NAME,
            config=config.endpoint,
        )
        grant_runtime(
            self.role,
            image_repository_arn=repository_arn(
                resolve_images(config.region, config.images).serving, self.partition
            ),
            artifacts_arn=artifacts_arn,
            capture_key=storage.key,
            rollback_alarm_arns=alarm_arns(self),
            vpc_arn=None if network is None else network.vpc.vpc_arn,
        )
        if links.smoke_tester_account is not None:
            self._smoke_test_role(config, links.smoke_tester_account)
        self.endpoint_name_output = CfnOutput(
            self,
            "EndpointName",
            value=self.endpoint.endpoint_name,
            description="Invoke with POST /invocations and a chat body (docs/serving.md)",
        )

    def _grant_model_readers(
        self,
        storage: StorageStack,
        registry: sagemaker.CfnModelPackageGroup | None,
        readers: tuple[EnvironmentConfig, ...],
    ) -> None:
        """Bucket, key and registry policies in this account for other accounts' endpoints."""
        for reader in readers:
            for statement in cross_account_grants.source_bucket_statements(
                storage, storage.artifacts.bucket_arn, reader
            ):
                storage.artifacts.add_to_resource_policy(statement)
            storage.key.add_to_resource_policy(
                cross_account_grants.source_key_statement(storage, reader)
            )
        if registry is not None:
            cross_account_grants.share_registry(registry, readers)

    def _smoke_test_role(self, config: EnvironmentConfig, tooling_account: str) -> None:
        """A role the pipeline in the tooling account assumes to invoke this endpoint."""
        runner = promotion.role_arn(self, tooling_account, promotion.smoke_tester_role_name(config))
        role = iam.Role(
            self,
            "SmokeTestRole",
            role_name=promotion.smoke_test_role_name(config),
            # The pipeline's smoke-test runner alone, not every principal of the tooling account.
            assumed_by=iam.AccountPrincipal(tooling_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": runner}}
            ),
            description="Assumed by the GitOps pipeline's smoke test to invoke this endpoint",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"], resources=[self.endpoint.endpoint.ref]
            )
        )


def _artifacts_arn(storage: StorageStack) -> str:
    """The artifacts bucket's ARN, read from a storage output whose name this code chooses.

    The same weak reference CDK makes (``Fn::GetStackOutput``), but under a fixed output name,
    so that the cdk-nag acknowledgements of prefixes in the bucket can name the resource as
    the template writes it.
    """
    if storage.node.try_find_child(ARTIFACTS_ARN_OUTPUT) is None:
        CfnOutput(storage, ARTIFACTS_ARN_OUTPUT, value=storage.artifacts.bucket_arn)
    return Fn.get_stack_output(storage.stack_name, ARTIFACTS_ARN_OUTPUT, storage.region)
