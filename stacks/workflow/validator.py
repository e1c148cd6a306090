"""The input-validation Lambda (``functions/validate_input``), its role and log group."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs
from stacks.workflow.network import JobNetwork
from stacks.workflow.roles import statement
from stacks.workflow.validator_code import bundle_dir

# Each execution calls the function once, as its first state (and the stopped-run cleanup
# once more); a call takes well under a second. Ten at once serve a burst of executions
# started together, and the callers' retry of Lambda.TooManyRequestsException (steps/common.py,
# LAMBDA_SERVICE) absorbs the rest, while a runaway caller cannot take the account's
# unreserved concurrency.
RESERVED_CONCURRENCY = 10


class InputValidator(Construct):
    """``validate_input.handler`` on Python 3.12: standard library only, no AWS calls.

    Its role may only write its own logs (and, in VPC mode, manage the function's network
    interfaces in the project's VPC). The log group is declared here (not left to Lambda),
    so it is encrypted with the environment's key, retention is set, and the local cloud needs
    no custom resource to create it. The environment variables are encrypted with the same key.
    In VPC mode (``network``) the function runs in the jobs' isolated subnets with a security
    group that allows no traffic at all: it makes no network calls.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        logs: EncryptedLogs,
        network: JobNetwork | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.log_group(
            self, "Logs", name=f"/aws/lambda/{Stack.of(self).stack_name}-input-validator"
        )
        self.statements = [
            statement(
                "WriteItsLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [self.log_group.log_group_arn],
            ),
            *([] if network is None else _network_statements(network.vpc.vpc_arn)),
        ]
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the training workflow's input validation; writes only its logs",
            inline_policies={"WriteLogs": iam.PolicyDocument(statements=self.statements)},
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
            # Lambda decrypts the variables through a grant it makes for the execution role
            # when the function is deployed; the role needs no key permission of its own
            # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
            environment_encryption=logs.key,
            reserved_concurrent_executions=RESERVED_CONCURRENCY,
            timeout=Duration.seconds(30),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            **({} if network is None else _in_vpc(self, network)),
        )
        # The role's policies are inline, so Fn::GetAtt on it already orders the two; CDK's
        # extra DependsOn on the role is redundant (cfn-lint W3005).
        self.function.node.default_child.add_deletion_override("DependsOn")


def _in_vpc(scope: Construct, network: JobNetwork) -> dict:
    """The function's place in the jobs' isolated subnets, behind a group that allows nothing."""
    closed = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=network.vpc,
        description="Input validation Lambda: no inbound, no outbound (it calls nothing)",
        allow_all_outbound=False,
    )
    return {
        "vpc": network.vpc,
        "vpc_subnets": ec2.SubnetSelection(subnets=network.subnets.subnets),
        "security_groups": [closed],
    }


def _network_statements(vpc_arn: str) -> list[iam.PolicyStatement]:
    """The actions of AWS's AWSLambdaVPCAccessExecutionRole: Lambda makes the function's
    network interfaces as the execution role, when the function is deployed
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html, "Required IAM
    permissions"). Those that change an interface are held to the project's VPC, as the jobs'
    are (``sagemaker_role.vpc_statements``)."""
    return [
        statement(
            "DescribeFunctionNetwork",
            ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            ["*"],
        ),
        statement(
            "ManageFunctionInterfaces",
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            ["*"],
            ArnEquals={"ec2:Vpc": vpc_arn},
        ),
    ]
