"""The SageMaker model of the version pinned in config, and the reads its role needs."""

from __future__ import annotations

from aws_cdk import Arn, ArnComponents, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from contracts import serving_images
from stacks.config_schema import (
    MODEL_PACKAGE_GROUP_PREFIX,
    EnvironmentConfig,
    model_package_account,
    model_package_group,
)
from stacks.nag import skip_checkov
from stacks.serving.cross_account_grants import MODEL_OBJECTS, reader_statements
from stacks.serving.instances import gpus_per_instance
from stacks.serving.wildcards import acknowledge_wildcard
from stacks.workflow.images import resolve_images
from stacks.workflow.network import JobNetwork

NOT_ISOLATED_REASON = (
    "network.network_isolation is off in this environment's configuration "
    "(config/environments.yaml, docs/configuration.md): a choice made per environment, for the "
    "jobs and endpoints alike; the environments that turn it on pass this check."
)


class PinnedModel(Construct):
    """A ``CfnModel`` for ``config.serving_model`` on the LMI (vLLM) serving container.

    A model package version ARN brings its own image and model data (its inference
    specification); an ``s3://`` prefix is served uncompressed with the pinned LMI image
    (or ``images.serving`` from config).
    Either way the container environment comes from ``config.endpoint``. The role gets read
    access to the model's files: the pinned prefix, or for a model package the model
    directories of the artifact layout in the account that registered it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        role: iam.Role,
        artifacts_arn: str,
        key: kms.IKey,
        network: JobNetwork | None = None,
    ) -> None:
        """``network``: the environment's VPC (``network.vpc``), or None."""
        super().__init__(scope, construct_id)
        pin = config.serving_model
        environment = serving_images.serving_environment(
            max_model_len=config.endpoint.max_model_len,
            max_concurrency=config.endpoint.max_concurrency,
            tensor_parallel_degree=gpus_per_instance(config.endpoint.instance_type),
        )
        if pin.startswith("s3://"):
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                image=resolve_images(config.region, config.images).serving,
                environment=environment,
                model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=pin.rstrip("/") + "/",
                        s3_data_type="S3Prefix",
                        compression_type="None",
                    )
                ),
            )
            self._read_s3_prefix(role, pin)
        else:
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=pin, environment=environment
            )
            source_account = model_package_account(pin)
            own_group = f"{MODEL_PACKAGE_GROUP_PREFIX}{config.name}"
            if model_package_group(pin) == own_group:
                _read_objects(role, artifacts_arn, MODEL_OBJECTS)
                key.grant_decrypt(role)
            else:
                # Registered by another environment (its group says which), whose bucket and
                # key are generated in its own stacks: in another account, or in this one.
                self._read_other_account(role, source_account, config.region)
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            primary_container=container,
            enable_network_isolation=config.network.network_isolation,
            vpc_config=None if network is None else _vpc_config(network),
        )
        # SageMaker checks the role's permissions when it creates the model, so the policy
        # must be attached first (the role itself is already a dependency through its ARN).
        self.model.node.add_dependency(role.node.find_child("DefaultPolicy"))
        if not config.network.network_isolation:
            skip_checkov(self.model, "CKV_AWS_370", NOT_ISOLATED_REASON)

    def _read_s3_prefix(self, role: iam.Role, pin: str) -> None:
        """An S3 pin is in this account (docs/gitops.md), in this environment's bucket or in
        another environment's of the same account: its prefix, decrypted through S3 with
        whichever key of this account encrypted it."""
        stack = Stack.of(self)
        bucket, _, prefix = pin.removeprefix("s3://").partition("/")
        bucket_arn = Arn.format(
            ArnComponents(service="s3", region="", account="", resource=bucket), stack
        )
        _read_objects(role, bucket_arn, prefix.rstrip("/") + "/*")
        keys = Arn.format(ArnComponents(service="kms", resource="key", resource_name="*"), stack)
        decrypt = iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[keys],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )
        role.add_to_policy(decrypt)
        acknowledge_wildcard(
            role,
            keys,
            "The pinned prefix may be in another environment's bucket of this account, whose "
            "key is generated in that environment's stack; decrypting is held to this "
            "account's keys used through S3 (kms:ViaService), for the objects the role may "
            "read: the pinned prefix only.",
        )

    def _read_other_account(self, role: iam.Role, account: str, region: str) -> None:
        statements = reader_statements(self, account, region)
        reasons = (
            f"The model's bucket is named by CloudFormation in account {account}; the "
            "resource is held to that account's model directories (aws:ResourceAccount).",
            f"Listing is held to account {account} and the models/ prefix; the "
            "bucket's name is generated in that account.",
            f"Decrypting is held to keys of account {account} used through S3 "
            "(kms:ViaService); the key's id is generated in that account.",
        )
        for statement, reason in zip(statements, reasons, strict=True):
            role.add_to_policy(statement)
            acknowledge_wildcard(role, statement.resources[0], reason)


def _vpc_config(network: JobNetwork) -> sagemaker.CfnModel.VpcConfigProperty:
    config = network.vpc_config()
    return sagemaker.CfnModel.VpcConfigProperty(
        security_group_ids=config["SecurityGroupIds"], subnets=config["Subnets"]
    )


def _read_objects(role: iam.Role, bucket_arn: str, pattern: str) -> None:
    """Read access to the objects matching ``pattern`` in one bucket, and to listing them."""
    objects = f"{bucket_arn}/{pattern}"
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [pattern]}},
        )
    )
    acknowledge_wildcard(
        role,
        objects,
        "A model is a directory of files (weights shards, tokenizer, config); the endpoint "
        "reads all of them and nothing outside the model's prefix.",
    )
