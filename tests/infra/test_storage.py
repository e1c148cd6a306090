"""The storage stack: key, buckets, and what must never change about them."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

DATA_BUCKETS = ("Data", "Artifacts")


def _buckets(template: dict) -> dict[str, dict]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::S3::Bucket"
    }


def _logical_id(template: dict, construct_prefix: str) -> str:
    (found,) = [lid for lid in _buckets(template) if lid.startswith(construct_prefix)]
    return found


def test_key_rotates(any_env):
    any_env.template("Storage").has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True}
    )


@pytest.mark.parametrize("bucket", DATA_BUCKETS)
def test_data_buckets_are_encrypted_with_the_key(any_env, bucket):
    template = any_env.templates["Storage"]
    (key_id,) = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    props = template["Resources"][_logical_id(template, bucket)]["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True


def test_every_bucket_is_versioned_private_logged_and_lifecycled(any_env):
    template = any_env.templates["Storage"]
    buckets = _buckets(template)
    assert len(buckets) == 3
    log_bucket = _logical_id(template, "AccessLogs")
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        rules = {rule.get("Id"): rule for rule in props["LifecycleConfiguration"]["Rules"]}
        assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
            "DaysAfterInitiation": 7
        }
        assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": 30
        }
        if logical_id != log_bucket:
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": log_bucket}


def test_captured_prompts_expire_and_nothing_else_does(any_env):
    """Data capture holds end users' prompts and the model's answers: deleted after the
    configured days (90 unless set); runs, models and datasets are kept."""
    buckets = _buckets(any_env.templates["Storage"])
    expiring = {
        logical_id: [
            rule
            for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
            if "ExpirationInDays" in rule
        ]
        for logical_id, bucket in buckets.items()
    }
    artifacts = _logical_id(any_env.templates["Storage"], "Artifacts")
    assert expiring.pop(artifacts) == [
        {"ExpirationInDays": 90, "Id": "ExpireDataCapture", "Prefix": "data-capture/",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}, "Status": "Enabled"}
    ]  # fmt: skip
    log_rules = expiring.pop(_logical_id(any_env.templates["Storage"], "AccessLogs"))
    assert [r["ExpirationInDays"] for r in log_rules] == [365]
    assert list(expiring.values()) == [[]]  # the data bucket


def test_every_bucket_refuses_plain_http(any_env):
    template = any_env.template("Storage")
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Principal"] == {"AWS": "*"}
            for s in statements
        )


@pytest.mark.parametrize(
    ("env_name", "policy"),
    [("local", "Delete"), ("dev", "Delete"), ("staging", "Retain"), ("prod", "Retain")],
)
def test_retention_follows_the_environment(synth_env, env_name, policy):
    template = synth_env(env_name).template("Storage")
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        template.all_resources(
            resource_type, {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}
        )


def test_stateful_logical_ids_are_pinned(synth_env):
    """Renaming these replaces the buckets or the key, losing data: change them never."""
    resources = synth_env("prod").templates["Storage"]["Resources"]
    stateful = sorted(
        lid for lid, r in resources.items() if r["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key")
    )
    assert stateful == [
        "AccessLogs8B620ECA",
        "Artifacts82DD59A1",
        "Data666C94C7",
        "Key961B73FD",
    ]


def test_buckets_have_no_physical_names(any_env):
    any_env.template("Storage").all_resources_properties(
        "AWS::S3::Bucket", Match.not_(Match.object_like({"BucketName": Match.any_value()}))
    )


def test_only_the_workflow_s_role_may_write_the_kept_models(any_env):
    """Registered packages and every serving account load models/: an explicit Deny for every
    other principal, whatever its IAM policy (the training jobs' role writes runs/ only)."""
    template = any_env.templates["Storage"]
    artifacts = _logical_id(template, "Artifacts")
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": artifacts}
    ]
    (deny,) = [s for s in policy if s.get("Sid") == "KeptModelsAreWrittenOnceByTheWorkflow"]
    storage = any_env.stacks["Storage"]
    writer = f"llm-finetune-{any_env.env_name}-workflow-{storage.region}"
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert sorted(deny["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"]
    assert deny["Resource"]["Fn::Join"][1][-1] == "/models/*"
    assert deny["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{storage.account}:role/{writer}"}
    }
    role = any_env.templates["Workflow"]["Resources"]
    names = [
        r["Properties"].get("RoleName") for r in role.values() if r["Type"] == "AWS::IAM::Role"
    ]
    assert writer in names


def test_the_key_is_a_stack_output(any_env):
    """docs/security.md encrypts SageMaker's job log groups with it."""
    template = any_env.templates["Storage"]
    (key_id,) = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    assert template["Outputs"]["KeyArn"]["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}
