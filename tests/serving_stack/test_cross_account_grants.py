"""Cross-account promotion: dev's bucket, key and registry let exactly staging's and prod's
serving roles read exactly the model directories; the readers' roles are held to dev's account.
"""

from __future__ import annotations

import json

import pytest

from stacks.config import DEFAULT_CONFIG_PATH

ROLE = "arn:aws:iam::{account}:role/llm-finetune-{env}-serving-us-east-1"
READERS = {"staging": "333333333333", "prod": "444444444444"}


def _principal(env: str, account: str) -> dict:
    """The statement parts that name one reader: its account, held to its serving role."""
    return {
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Condition": {"ArnEquals": {"aws:PrincipalArn": ROLE.format(account=account, env=env)}},
    }


def _statements(synth, stage: str, resource_type: str, document: str) -> list[dict]:
    (resource,) = [
        r
        for r in synth.resources(stage, "Storage", resource_type).values()
        if "Bucket" not in r["Properties"] or "Artifacts" in json.dumps(r["Properties"]["Bucket"])
    ]
    return resource["Properties"][document]["Statement"]


def _granted(statements: list[dict]) -> dict[str, dict]:
    return {s["Sid"]: s for s in statements if s.get("Sid", "").startswith("ServeModelsIn")}


def test_dev_artifacts_bucket_grants_each_reader_its_model_directories_only(pinned_pipeline):
    statements = _statements(pinned_pipeline, "Dev", "AWS::S3::BucketPolicy", "PolicyDocument")
    granted = _granted(statements)
    assert set(granted) == {
        f"ServeModelsIn{env.capitalize()}{part}" for env in READERS for part in ("Objects", "List")
    }
    for env, account in READERS.items():
        objects = granted[f"ServeModelsIn{env.capitalize()}Objects"]
        assert objects["Action"] == "s3:GetObject"
        assert objects["Effect"] == "Allow"
        assert json.dumps(objects["Resource"]).endswith('"/models/*"]]}')
        assert {k: objects[k] for k in ("Principal", "Condition")} == _principal(env, account)
        listing = granted[f"ServeModelsIn{env.capitalize()}List"]
        assert listing["Action"] == "s3:ListBucket"
        assert listing["Condition"]["StringLike"] == {"s3:prefix": ["models/*"]}
        assert (
            listing["Condition"]["ArnEquals"] == _principal(env, account)["Condition"]["ArnEquals"]
        )


def test_dev_key_lets_each_reader_decrypt_through_s3_only(pinned_pipeline):
    statements = _statements(pinned_pipeline, "Dev", "AWS::KMS::Key", "KeyPolicy")
    granted = _granted(statements)
    assert set(granted) == {"ServeModelsInStaging", "ServeModelsInProd"}
    for env, account in READERS.items():
        statement = granted[f"ServeModelsIn{env.capitalize()}"]
        assert statement["Action"] == "kms:Decrypt"
        assert statement["Principal"] == _principal(env, account)["Principal"]
        assert statement["Condition"] == {
            **_principal(env, account)["Condition"],
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        }


def test_dev_registry_lets_the_reader_accounts_describe_its_packages(pinned_pipeline):
    (group,) = pinned_pipeline.resources(
        "Dev", "Workflow", "AWS::SageMaker::ModelPackageGroup"
    ).values()
    (statement,) = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Principal"] == {
        "AWS": ["arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"]
    }
    assert statement["Action"] == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
    ]
    assert statement["Resource"] == [
        "arn:aws:sagemaker:us-east-1:222222222222:model-package-group/llm-finetune-dev",
        "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/*",
    ]


@pytest.mark.parametrize("stage", ["Staging", "Prod"])
def test_readers_grant_nothing_themselves(pinned_pipeline, stage):
    assert "ServeModelsIn" not in json.dumps(pinned_pipeline.templates[(stage, "Storage")])
    (group,) = pinned_pipeline.resources(
        stage, "Workflow", "AWS::SageMaker::ModelPackageGroup"
    ).values()
    assert "ModelPackageGroupPolicy" not in group["Properties"]


@pytest.mark.parametrize("stage", ["Staging", "Prod"])
def test_reader_roles_are_held_to_dev_account_and_model_directories(pinned_pipeline, stage):
    policies = pinned_pipeline.resources(stage, "Serving", "AWS::IAM::Policy").values()
    (policy,) = [p for p in policies if "SmokeTest" not in json.dumps(p["Properties"]["Roles"])]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    reads = [
        s for s in statements if s["Action"] in ("s3:GetObject", "s3:ListBucket", "kms:Decrypt")
    ]
    assert reads == [
        {
            "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:ResourceAccount": "222222222222"}},
            "Effect": "Allow",
            "Resource": "arn:aws:s3:::*/models/*",
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {
                "StringEquals": {"aws:ResourceAccount": "222222222222"},
                "StringLike": {"s3:prefix": ["models/*"]},
            },
            "Effect": "Allow",
            "Resource": "arn:aws:s3:::*",
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": "arn:aws:kms:us-east-1:222222222222:key/*",
        },
    ]


def test_the_serving_role_has_the_name_the_grants_expect(pinned_pipeline):
    for env in READERS:
        roles = pinned_pipeline.resources(env.capitalize(), "Serving", "AWS::IAM::Role").values()
        (role,) = [r for r in roles if "smoke-test" not in r["Properties"]["RoleName"]]
        assert role["Properties"]["RoleName"] == f"llm-finetune-{env}-serving-us-east-1"


def test_only_staging_trusts_the_pipeline_to_invoke_its_endpoint(pinned_pipeline):
    for stage in ("Dev", "Prod"):
        roles = pinned_pipeline.resources(stage, "Serving", "AWS::IAM::Role")
        assert [r["Properties"]["RoleName"] for r in roles.values()] == [
            f"llm-finetune-{stage.lower()}-serving-us-east-1"
        ]
    roles = pinned_pipeline.resources("Staging", "Serving", "AWS::IAM::Role")
    (smoke,) = [r for r in roles.values() if "smoke-test" in r["Properties"]["RoleName"]]
    assert smoke["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            # The pipeline's smoke-test runner alone (tests/pipeline: it is the step's role).
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": "arn:aws:iam::111111111111:role/"
                    "llm-finetune-staging-smoke-tester-us-east-1"
                }
            },
        }
    ]
    endpoint_id = next(
        iter(pinned_pipeline.resources("Staging", "Serving", "AWS::SageMaker::Endpoint"))
    )
    policies = pinned_pipeline.resources("Staging", "Serving", "AWS::IAM::Policy")
    (invoke,) = [
        p for p in policies.values() if "SmokeTest" in json.dumps(p["Properties"]["Roles"])
    ]
    assert invoke["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "sagemaker:InvokeEndpoint", "Effect": "Allow", "Resource": {"Ref": endpoint_id}}
    ]


def _reads(synth, stage: str) -> list[dict]:
    policies = synth.resources(stage, "Serving", "AWS::IAM::Policy").values()
    (policy,) = [p for p in policies if "SmokeTest" not in json.dumps(p["Properties"]["Roles"])]
    return [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] in ("s3:GetObject", "s3:ListBucket", "kms:Decrypt")
    ]


def test_an_s3_pin_is_decrypted_through_s3_by_any_key_of_its_account(pinned_pipeline):
    """The prefix may be in another environment's bucket of the same account, whose key is
    generated in that environment's stack: not this environment's key."""
    (decrypt,) = [s for s in _reads(pinned_pipeline, "Dev") if s["Action"] == "kms:Decrypt"]
    assert decrypt == {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": "arn:aws:kms:us-east-1:222222222222:key/*",
    }
    (objects,) = [s for s in _reads(pinned_pipeline, "Dev") if s["Action"] == "s3:GetObject"]
    assert objects["Resource"] == "arn:aws:s3:::llm-finetune-dev-models/runs/sql-7/model/*"


def test_a_package_another_environment_of_the_same_account_registered_is_read_where_it_is(
    tmp_path,
):
    """Dev and staging in one account: staging reads dev's model directories, not its own."""
    from app import build_app
    from tests.pipeline.synth import PROMOTED_MODEL, Synth, _templates, with_pins

    text = DEFAULT_CONFIG_PATH.read_text().replace(
        'account: "333333333333"', 'account: "222222222222"'
    )
    path = tmp_path / "environments.yaml"
    path.write_text(with_pins(text, {"staging": PROMOTED_MODEL, "prod": PROMOTED_MODEL}))
    outdir = tmp_path / "out"
    build_app("staging", outdir=str(outdir), config_path=path).synth()
    reads = _reads(Synth(outdir, _templates(outdir)), "Staging")
    assert [s["Resource"] for s in reads] == [
        "arn:aws:s3:::*/models/*",
        "arn:aws:s3:::*",
        "arn:aws:kms:us-east-1:222222222222:key/*",
    ]
    assert reads[0]["Condition"] == {"StringEquals": {"aws:ResourceAccount": "222222222222"}}


def test_a_model_source_keeps_its_bucket_key_and_registry_whatever_retain_data_says(
    pinned_pipeline, pipeline
):
    """Staging and prod serve dev's package from dev's bucket: deleting dev's stacks must not
    take the model (and the key that decrypts it) with them. Unpinned, dev keeps nothing."""
    for synth, kept in ((pinned_pipeline, "Retain"), (pipeline, "Delete")):
        for stack, kind in (
            ("Storage", "AWS::S3::Bucket"),
            ("Storage", "AWS::KMS::Key"),
            ("Workflow", "AWS::SageMaker::ModelPackageGroup"),
        ):
            resources = synth.resources("Dev", stack, kind).values()
            assert {r["DeletionPolicy"] for r in resources} == {kept}, (stack, kind)


def test_a_model_source_in_the_same_account_is_kept_too(tmp_path):
    """Dev and staging in one account, staging serving dev's package: no cross-account grant,
    but deleting dev's stacks would take staging's model with them all the same."""
    from app import build_app
    from tests.pipeline.synth import PROMOTED_MODEL, Synth, _templates, with_pins

    text = DEFAULT_CONFIG_PATH.read_text().replace(
        'account: "333333333333"', 'account: "222222222222"'
    )
    path = tmp_path / "environments.yaml"
    path.write_text(with_pins(text, {"staging": PROMOTED_MODEL}))
    outdir = tmp_path / "out"
    build_app("dev", outdir=str(outdir), config_path=path).synth()
    synth = Synth(outdir, _templates(outdir))
    for stack, kind in (
        ("Storage", "AWS::KMS::Key"),
        ("Workflow", "AWS::SageMaker::ModelPackageGroup"),
    ):
        resources = synth.resources("Dev", stack, kind).values()
        assert {r["DeletionPolicy"] for r in resources} == {"Retain"}, (stack, kind)
