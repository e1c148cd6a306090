"""AWS's policy evaluation logic and condition operators, as localcloud.iam implements them."""

from __future__ import annotations

import pytest

from localcloud.iam.conditions import satisfied
from localcloud.iam.policy import Decision, Principal, Request, ResourcePolicy, evaluate

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/job"
ME = Principal(ROLE, f"arn:aws:sts::{ACCOUNT}:assumed-role/job/SageMaker", ACCOUNT)
OBJECT = "arn:aws:s3:::bucket/runs/1/model.tar.gz"


def allow(action: str, resource: str = "*", **extra: object) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def test_identity_allow_with_wildcards() -> None:
    identity = [allow("s3:Get*", "arn:aws:s3:::bucket/runs/*")]
    assert evaluate(Request("s3:GetObject", OBJECT), ME, identity) is Decision.ALLOWED
    assert evaluate(Request("S3:getobject", OBJECT), ME, identity) is Decision.ALLOWED


def test_nothing_allows_is_an_implicit_deny() -> None:
    identity = [allow("s3:GetObject", "arn:aws:s3:::bucket/models/*")]
    assert evaluate(Request("s3:GetObject", OBJECT), ME, identity) is Decision.NO_IDENTITY_ALLOW
    assert evaluate(Request("s3:PutObject", OBJECT), ME, identity) is Decision.NO_IDENTITY_ALLOW


def test_explicit_deny_wins_over_allow() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": OBJECT}]}
    decision = evaluate(Request("s3:GetObject", OBJECT), ME, [allow("*"), deny])
    assert decision is Decision.IDENTITY_DENY


def test_resource_policy_deny_wins_and_names_its_condition() -> None:
    bucket = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::bucket/models/*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/workflow"}},
            }
        ]
    }
    request = Request("s3:PutObject", "arn:aws:s3:::bucket/models/m", {"aws:principalarn": [ROLE]})
    resources = [ResourcePolicy(bucket)]
    assert evaluate(request, ME, [allow("s3:*")], resources) is Decision.RESOURCE_DENY
    workflow = Request(
        "s3:PutObject",
        "arn:aws:s3:::bucket/models/m",
        {"aws:principalarn": ["arn:aws:iam::1:role/workflow"]},
    )
    assert evaluate(workflow, ME, [allow("s3:*")], resources) is Decision.ALLOWED


def test_resource_policy_naming_the_role_allows_without_identity_policy() -> None:
    bucket = allow("s3:GetObject", OBJECT, Principal={"AWS": ROLE})
    assert evaluate(Request("s3:GetObject", OBJECT), ME, [], [ResourcePolicy(bucket)]) is (
        Decision.ALLOWED
    )


def test_kms_key_policy_must_allow_the_account_for_identity_policies_to_count() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    root = allow("kms:*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    other = allow("kms:*", Principal={"AWS": "arn:aws:iam::123456789012:role/other"})
    identity = [allow("kms:Encrypt", key)]
    request = Request("kms:Encrypt", key)
    assert evaluate(request, ME, identity, [ResourcePolicy(root, True)]) is Decision.ALLOWED
    assert evaluate(request, ME, [], [ResourcePolicy(root, True)]) is Decision.NO_IDENTITY_ALLOW
    assert evaluate(request, ME, identity, [ResourcePolicy(other, True)]) is (
        Decision.NO_RESOURCE_ALLOW
    )


def test_not_action_and_not_resource() -> None:
    identity = [
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "NotAction": "s3:Delete*",
                    "NotResource": "arn:aws:s3:::other/*",
                }
            ]
        }
    ]
    assert evaluate(Request("s3:GetObject", OBJECT), ME, identity) is Decision.ALLOWED
    assert evaluate(Request("s3:DeleteObject", OBJECT), ME, identity) is not Decision.ALLOWED
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::other/x"), ME, identity) is not (
        Decision.ALLOWED
    )


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"s3:prefix": ["a/", "b/"]}}, {"s3:prefix": ["b/"]}, True),
        ({"StringEquals": {"s3:prefix": "a/"}}, {"s3:prefix": ["A/"]}, False),
        ({"StringEquals": {"s3:prefix": "a/"}}, {}, False),  # a missing key: false
        ({"StringNotEquals": {"s3:prefix": "a/"}}, {"s3:prefix": ["b/"]}, True),
        ({"StringNotEquals": {"s3:prefix": "a/"}}, {}, True),  # negated: true when missing
        ({"StringLike": {"s3:prefix": "runs/*/model/*"}}, {"s3:prefix": ["runs/1/model/x"]}, True),
        ({"StringLike": {"s3:prefix": "runs/*"}}, {"s3:prefix": ["models/x"]}, False),
        ({"StringEqualsIgnoreCase": {"k": "AbC"}}, {"k": ["abc"]}, True),
        ({"ArnEquals": {"aws:PrincipalArn": ROLE}}, {"aws:principalarn": [ROLE]}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
            {"aws:sourcearn": ["arn:aws:s3:::b"]},
            True,
        ),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, {}, False),
        ({"ArnNotEquals": {"aws:PrincipalArn": ROLE}}, {"aws:principalarn": [ROLE]}, False),
        (
            {"ArnNotEquals": {"aws:PrincipalArn": ROLE}},
            {"aws:principalarn": ["arn:aws:iam::1:role/x"]},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:securetransport": ["true"]}, False),
        (
            {"Bool": {"kms:GrantIsForAWSResource": True}},
            {"kms:grantisforawsresource": ["true"]},
            True,
        ),
        ({"Null": {"s3:prefix": "true"}}, {}, True),
        ({"Null": {"s3:prefix": "false"}}, {}, False),
        ({"StringEqualsIfExists": {"k": "v"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "v"}}, {"k": ["w"]}, False),
        ({"ForAnyValue:StringEquals": {"k": ["a", "b"]}}, {"k": ["c", "b"]}, True),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, False),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {}, True),
        ({"NumericLessThan": {"n": "10"}}, {"n": ["9"]}, True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}, {}, False),  # unsupported
        (  # keys of a block are ANDed
            {"StringEquals": {"a": "1", "b": "2"}},
            {"a": ["1"], "b": ["3"]},
            False,
        ),
    ],
)
def test_condition_operators(condition: dict, context: dict, expected: bool) -> None:
    assert satisfied(condition, context) is expected
