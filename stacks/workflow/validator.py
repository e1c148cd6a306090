"""The input-validation Lambda (``stacks/functions/validate_input``), its role and log group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.workflow.validator_code import bundle_dir


class InputValidator(Construct):
    """``validate_input.handler`` on Python 3.12: standard library only, no AWS calls.

    Its role may only write its own logs; the log group is declared here (not left to Lambda)
    so retention is set and the local cloud needs no custom resource to create it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=removal
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the training workflow's input validation; writes only its logs",
            inline_policies={
                "WriteLogs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[self.log_group.log_group_arn],
                        )
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Validates a training execution's input and plans the run",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="validate_input.handler",
            # Its folder and the training modules it checks with (validator_code.py).
            code=lambda_.Code.from_asset(str(bundle_dir())),
            environment=environment,
            timeout=Duration.seconds(30),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
        )
        # The role's policies are inline, so Fn::GetAtt on it already orders the two; CDK's
        # extra DependsOn on the role is redundant (cfn-lint W3005).
        self.function.node.default_child.add_deletion_override("DependsOn")
