"""A template's VPC security groups end up with the rules AWS gives them (``ec2_resources``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from botocore.client import BaseClient

from tests.localcloud.helpers import create_stack, lambda_role

# What CDK writes for a group with allow_all_outbound=False: one rule that matches nothing.
DISALLOW_ALL = {
    "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all traffic",
    "FromPort": 252,
    "IpProtocol": "icmp",
    "ToPort": 86,
}
ALL = [{"CidrIp": "0.0.0.0/0"}]


def _template(role_arn: str, zipped: str) -> dict:
    vpc = {"Ref": "Vpc"}
    jobs = {"Fn::GetAtt": ["Jobs", "GroupId"]}
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": vpc, "CidrBlock": "10.0.0.0/20"},
            },
            "Closed": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "no traffic",
                    "VpcId": vpc,
                    "SecurityGroupEgress": [DISALLOW_ALL],
                },
            },
            "Jobs": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "jobs",
                    "VpcId": vpc,
                    "SecurityGroupEgress": [
                        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
                    ],
                },
            },
            "JobsToJobs": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": jobs,
                    "IpProtocol": "-1",
                    "DestinationSecurityGroupId": jobs,
                },
            },
            "RestrictDefault": {
                "Type": "Custom::VpcRestrictDefaultSG",
                "Properties": {
                    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:not-run",
                    "DefaultSecurityGroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
                    "Account": "123456789012",
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": role_arn,
                    "Code": {"ZipFile": zipped},
                    "VpcConfig": {"SubnetIds": [{"Ref": "Subnet"}], "SecurityGroupIds": [jobs]},
                },
            },
        },
        "Outputs": {
            name: {"Value": value}
            for name, value in {
                "Vpc": vpc,
                "Closed": {"Fn::GetAtt": ["Closed", "GroupId"]},
                "Jobs": jobs,
                "Default": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
                "Function": {"Ref": "Function"},
            }.items()
        },
    }


def _rules(ec2: BaseClient, group_id: str) -> tuple[list[dict], list[dict]]:
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def test_egress_rules_replace_the_default_and_the_default_group_is_emptied(
    aws: Callable[[str], BaseClient],
):
    ec2, cfn = aws("ec2"), aws("cloudformation")
    name = f"vpc-{uuid.uuid4().hex[:8]}"
    role = lambda_role(aws("iam"), f"{name}-function")
    code = "def handler(event, context):\n    return {}\n"
    stack = create_stack(cfn, name, _template(role, code))
    out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    _, closed = _rules(ec2, out["Closed"])
    assert [(r["IpProtocol"], r["IpRanges"][0]["CidrIp"]) for r in closed] == [
        ("icmp", "255.255.255.255/32")
    ]
    _, jobs = _rules(ec2, out["Jobs"])
    https = [r for r in jobs if r["IpProtocol"] == "tcp"]
    assert [(r["FromPort"], r["IpRanges"][0]["CidrIp"]) for r in https] == [(443, "0.0.0.0/0")]
    peers = [r for r in jobs if r["UserIdGroupPairs"]]
    assert [(r["IpProtocol"], r["UserIdGroupPairs"][0]["GroupId"]) for r in peers] == [
        ("-1", out["Jobs"])
    ]
    assert not [r for r in jobs if r["IpProtocol"] == "-1" and r["IpRanges"] == ALL]
    assert _rules(ec2, out["Default"]) == ([], [])

    function = aws("lambda").get_function(FunctionName=out["Function"])["Configuration"]
    assert function["VpcConfig"]["VpcId"] == out["Vpc"]

    cfn.delete_stack(StackName=name)
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [out["Jobs"], out["Closed"]]}]
    )["SecurityGroups"]
