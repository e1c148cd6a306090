"""The "Cost the run" Lambda (``functions/run_cost``), its role and its log group.

Its code is its folder plus the ``costs`` package (``validator_code.costs_files``), so it prices
with the table and arithmetic the validation Lambda and the CLI use. Its role may describe the
run's jobs, read the evaluation report and write it back with the cost, write ``cost.json`` in
the run's folder, use the storage key for those objects, and write its own logs: nothing else.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from contracts import workflow as contract
from stacks.config_schema import EnvironmentConfig
from stacks.encrypted_logs import EncryptedLogs
from stacks.run_resources import run_resources
from stacks.workflow.roles import run_suffix_arn, runs_objects, statement
from stacks.workflow.validator_code import ROOT, contracts_files, costs_files, write_bundle

FUNCTION_DIR = ROOT / "functions" / "run_cost"
# One call per execution, at its end; a burst of runs ending together is absorbed by the
# caller's retry of Lambda.TooManyRequestsException (steps/common.py, LAMBDA_SERVICE).
RESERVED_CONCURRENCY = 5


def bundle_files() -> dict[str, Path]:
    """File name in the bundle -> source file: the function's modules and the shared packages."""
    files = {path.name: path for path in sorted(FUNCTION_DIR.glob("*.py"))}
    return {**files, **contracts_files(), **costs_files()}


class RunCostFunction(Construct):
    """``run_cost.handler`` on Python 3.12 (``statements`` are its role's, for cdk-nag)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        artifacts_arn: str,
        key: kms.IKey,
        logs: EncryptedLogs,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.log_group(
            self, "Logs", name=f"/aws/lambda/{Stack.of(self).stack_name}-run-cost"
        )
        report = f"*/evaluation/{contract.REPORT_FILE}"
        page = f"*/evaluation/{contract.REPORT_PAGE}"
        self.statements = [
            statement(
                "WriteItsLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [self.log_group.log_group_arn],
            ),
            statement(
                "DescribeRunProcessingJobs",
                ["sagemaker:DescribeProcessingJob"],
                [
                    run_suffix_arn(self, "processing-job", "prepare_job"),
                    run_suffix_arn(self, "processing-job", "evaluation_job"),
                ],
            ),
            statement(
                "DescribeRunTrainingJob",
                ["sagemaker:DescribeTrainingJob"],
                [run_suffix_arn(self, "training-job", "training_job")],
            ),
            statement(
                "ReadRunReports",
                ["s3:GetObject"],
                [runs_objects(artifacts_arn, report), runs_objects(artifacts_arn, page)],
            ),
            statement(
                "WriteRunCosts",
                ["s3:PutObject"],
                [
                    runs_objects(artifacts_arn, f"*/{contract.COST_FILE}"),
                    runs_objects(artifacts_arn, report),
                    runs_objects(artifacts_arn, page),
                ],
            ),
            statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
        ]
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Computes a training run's cost after its cleanup",
            inline_policies={"Permissions": iam.PolicyDocument(statements=self.statements)},
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Computes a training run's cost from what SageMaker reports",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="run_cost.handler",
            code=lambda_.Code.from_asset(str(write_bundle("run-cost", bundle_files()))),
            environment={
                contract.ENV_RUN_RESOURCES: json.dumps(dataclasses.asdict(run_resources(config))),
                contract.ENV_LOCAL_CLOUD: "true" if config.is_local else "false",
            },
            environment_encryption=key,
            reserved_concurrent_executions=RESERVED_CONCURRENCY,
            timeout=Duration.seconds(60),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
        )
        # As for the validation function: the inline policy already orders role and function.
        self.function.node.default_child.add_deletion_override("DependsOn")
