"""VPC mode (``network.vpc``): jobs and endpoints in private, isolated subnets.

The subnets have no route to the internet; everything the containers reach goes through VPC
endpoints: S3 (gateway), the SageMaker API and runtime (the evaluation job calls the endpoint),
CloudWatch Logs and STS. The jobs, the temporary endpoints and the serving stack's endpoint
share the subnets and the security group. SageMaker pulls the images itself, outside the VPC.
Without internet, jobs cannot install requirements or download from the Hugging Face Hub: the
validation Lambda rejects hub ids in this mode, and the images must already hold what the code
imports.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs

INTERFACE_ENDPOINTS = {
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
}


class JobNetwork(Construct):
    """A two-AZ VPC of isolated subnets, VPC endpoints, flow logs and the jobs' security group.

    ``logs`` makes the flow logs' group and the log group of the function that empties the
    VPC's default security group, both encrypted with the environment's key.
    """

    def __init__(self, scope: Construct, construct_id: str, *, logs: EncryptedLogs) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            # Resolved by CloudFormation (Fn::GetAZs), not looked up: synth stays offline.
            availability_zones=[Fn.select(index, Fn.get_azs()) for index in (0, 1)],
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                )
            ],
        )
        self.default_security_group_handler = _harden_default_security_group_handler(self, logs)
        stack_name = Stack.of(self).stack_name
        flow_logs = logs.log_group(self, "FlowLogs", name=f"/aws/vpc/{stack_name}-flow-logs")
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.security_group = ec2.SecurityGroup(
            self,
            "Jobs",
            vpc=self.vpc,
            description="Training, processing and evaluation-endpoint containers",
            allow_all_outbound=False,
        )
        # Distributed training: the instances of one job talk to each other on any port.
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.all_traffic(), "Between instances of one job"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.all_traffic(), "Between instances of one job"
        )
        # The isolated subnets route only to the VPC endpoints and the S3 gateway, so HTTPS
        # "anywhere" reaches nothing else.
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.HTTPS, "To the VPC endpoints and S3"
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        endpoints = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description="Interface VPC endpoints: HTTPS from the jobs only",
            allow_all_outbound=False,
        )
        endpoints.add_ingress_rule(self.security_group, ec2.Port.HTTPS, "From the jobs")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=isolated, security_groups=[endpoints], open=False
            )

    def vpc_config(self) -> dict[str, Any]:
        """SageMaker's ``VpcConfig`` for jobs and models."""
        return {
            "SecurityGroupIds": [self.security_group.security_group_id],
            "Subnets": self.subnets.subnet_ids,
        }


# CloudFormation calls the function once per deployment that creates, updates or deletes the
# VPC's default-security-group resource.
DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY = 1


def _harden_default_security_group_handler(
    scope: Construct, logs: EncryptedLogs
) -> CfnResource | None:
    """The Lambda that strips the VPC's default security group (CDK's custom resource, kept so
    the default group allows nothing) logs to an encrypted group of its own (Lambda would make
    an unencrypted one that never expires) and runs one at a time. It names its role in both
    DependsOn and Fn::GetAtt; the first is redundant (cfn-lint W3005)."""
    provider = Stack.of(scope).node.try_find_child(
        "Custom::VpcRestrictDefaultSGCustomResourceProvider"
    )
    if provider is None:
        return None
    handler: CfnResource = provider.node.find_child("Handler")
    handler.add_deletion_override("DependsOn")
    log_group = logs.log_group(
        scope,
        "DefaultSecurityGroupHandlerLogs",
        name=f"/aws/lambda/{Stack.of(scope).stack_name}-vpc-default-security-group",
    )
    handler.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
    handler.add_property_override(
        "ReservedConcurrentExecutions", DEFAULT_SECURITY_GROUP_HANDLER_CONCURRENCY
    )
    return handler
