"""The GitOps pipeline: its stages and their order, accounts, approval, smoke test, synth."""

from __future__ import annotations

import json

import pytest
import yaml

from stacks.config import load_config
from stacks.pipeline.pipeline_stack import CDK_ASSETS_VERSION, cdk_cli_version

CONFIG = load_config()
SMOKE_TEST_ROLE = "arn:aws:iam::333333333333:role/llm-finetune-staging-smoke-test-us-east-1"
SMOKE_TESTER = "llm-finetune-staging-smoke-tester-us-east-1"  # in the tooling account


def _pipeline(synth) -> dict:
    (pipeline,) = synth.resources("", "Pipeline", "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]


def _stage(synth, name: str) -> list[dict]:
    (stage,) = [s for s in _pipeline(synth)["Stages"] if s["Name"] == name]
    return stage["Actions"]


def _project(synth, action: dict) -> dict:
    logical_id = action["Configuration"]["ProjectName"]["Ref"]
    return synth.templates[("", "Pipeline")]["Resources"][logical_id]["Properties"]


def _role_arn_text(action: dict) -> str:
    return json.dumps(action["RoleArn"])


def test_stages_run_in_promotion_order(pipeline, pinned_pipeline):
    # Assets: the code assets (training code, ...) published to each account before deploying.
    expected = ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Staging", "Prod"]
    assert [s["Name"] for s in _pipeline(pipeline)["Stages"]] == expected
    assert [s["Name"] for s in _pipeline(pinned_pipeline)["Stages"]] == expected


def test_source_is_the_configured_connection(pipeline):
    (action,) = _stage(pipeline, "Source")
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert action["Configuration"]["ConnectionArn"] == CONFIG.pipeline.connection_arn
    assert action["Configuration"]["FullRepositoryId"] == "example-org/llm-finetune-cdk"
    assert action["Configuration"]["BranchName"] == "main"


def test_synth_runs_the_tests_then_synthesizes_the_pipeline(pipeline):
    (action,) = _stage(pipeline, "Build")
    spec = json.loads(_project(pipeline, action)["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == ["make setup"]
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.11"}
    build = spec["phases"]["build"]["commands"]
    assert build[0] == "make test"
    assert build[1].endswith("npx cdk synth -c env=pipeline")
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_pipeline_mutates_itself_with_the_pinned_cli(pipeline):
    (action,) = _stage(pipeline, "UpdatePipeline")
    spec = json.loads(_project(pipeline, action)["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{cdk_cli_version()}"]
    assert spec["phases"]["build"]["commands"] == [
        "cdk -a . deploy Pipeline --require-approval=never --verbose"
    ]


def test_assets_are_published_with_the_pinned_cdk_assets(pipeline):
    """The asset projects write the code every account's jobs run, before the prod approval."""
    (stage,) = [s for s in _pipeline(pipeline)["Stages"] if s["Name"] == "Assets"]
    # One project publishes every file asset (publish_assets_in_parallel=False: the job wheels
    # are one asset per wheel); its buildspec is a file of the cloud assembly.
    (action,) = stage["Actions"]
    buildspec = yaml.safe_load(
        (pipeline.outdir / _project(pipeline, action)["Source"]["BuildSpec"]).read_text()
    )
    assert buildspec["phases"]["install"]["commands"] == [
        f"npm install -g cdk-assets@{CDK_ASSETS_VERSION}"
    ]


@pytest.mark.parametrize("env_name", ["dev", "staging", "prod"])
def test_each_stage_deploys_its_stacks_into_its_account_and_region(pipeline, env_name):
    env = CONFIG.environment(env_name)
    deploys = [
        a for a in _stage(pipeline, env_name.capitalize())
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    ]  # fmt: skip
    stage = env_name.capitalize()
    assert {a["Configuration"]["StackName"] for a in deploys} == {
        f"{stage}-Storage",
        f"{stage}-Workflow",
        f"{stage}-Serving",
    }
    for action in deploys:
        assert f"deploy-role-{env.account}-{env.region}" in _role_arn_text(action)
        assert action.get("Region", CONFIG.pipeline.region) == env.region
        if action["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE":
            assert f"cfn-exec-role-{env.account}-{env.region}" in json.dumps(
                action["Configuration"]["RoleArn"]
            )


def test_accounts_are_the_configured_ones():
    assert [CONFIG.environment(n).account for n in ("dev", "staging", "prod")] == [
        "222222222222",
        "333333333333",
        "444444444444",
    ]


def test_a_person_approves_before_prod_and_nowhere_else(pipeline):
    prod = _stage(pipeline, "Prod")
    approvals = [a for a in prod if a["ActionTypeId"]["Category"] == "Approval"]
    assert [a["Name"] for a in approvals] == ["PromoteToProd"]
    deploy_orders = [a["RunOrder"] for a in prod if a not in approvals]
    assert approvals[0]["RunOrder"] < min(deploy_orders)
    for name in ("Dev", "Staging"):
        assert all(a["ActionTypeId"]["Category"] != "Approval" for a in _stage(pipeline, name))


def test_staging_endpoint_is_smoke_tested_after_it_deploys(pinned_pipeline):
    staging = _stage(pinned_pipeline, "Staging")
    (smoke,) = [a for a in staging if a["Name"] == "SmokeTest"]
    serving_deploy = next(a for a in staging if a["Name"] == "Serving.Deploy")
    assert smoke["RunOrder"] > max(a["RunOrder"] for a in staging if a is not smoke)
    namespace = serving_deploy["Namespace"]
    variables = json.loads(smoke["Configuration"]["EnvironmentVariables"])
    assert variables == [
        {"name": "ENDPOINT_NAME", "type": "PLAINTEXT", "value": f"#{{{namespace}.EndpointName}}"}
    ]
    project = _project(pinned_pipeline, smoke)
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert env == {
        "SMOKE_TEST_ROLE_ARN": SMOKE_TEST_ROLE,
        "ENDPOINT_REGION": "us-east-1",
    }
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"] == [
        'python3 stacks/pipeline/smoke_test.py --endpoint-name "$ENDPOINT_NAME" '
        '--region "$ENDPOINT_REGION" --role-arn "$SMOKE_TEST_ROLE_ARN"'
    ]


def test_smoke_test_may_assume_only_the_staging_smoke_test_role(pinned_pipeline):
    resources = pinned_pipeline.templates[("", "Pipeline")]["Resources"]
    assumes = [
        statement
        for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
        and "SmokeTest" in json.dumps(r["Properties"]["Roles"])
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "sts:AssumeRole"
    ]  # fmt: skip
    assert [s["Resource"] for s in assumes] == [SMOKE_TEST_ROLE]


def test_the_smoke_test_runs_as_the_role_staging_trusts(pinned_pipeline):
    """tests/serving_stack: the staging smoke-test role trusts this role name alone."""
    (smoke,) = [a for a in _stage(pinned_pipeline, "Staging") if a["Name"] == "SmokeTest"]
    resources = pinned_pipeline.templates[("", "Pipeline")]["Resources"]
    runner = _project(pinned_pipeline, smoke)["ServiceRole"]["Fn::GetAtt"][0]
    assert resources[runner]["Properties"]["RoleName"] == SMOKE_TESTER


def test_nothing_pinned_in_staging_means_no_smoke_test(pipeline):
    assert [a["Name"] for a in _stage(pipeline, "Staging") if a["Name"] == "SmokeTest"] == []


def test_artifacts_are_encrypted_with_a_rotating_key_shared_with_the_deploy_roles(pipeline):
    template = pipeline.templates[("", "Pipeline")]
    store = _pipeline(pipeline)["ArtifactStore"]
    key_id = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    shared = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    ]
    principals = json.dumps([s["Principal"] for s in shared])
    for env_name in ("dev", "staging", "prod"):
        env = CONFIG.environment(env_name)
        assert f"cdk-hnb659fds-deploy-role-{env.account}-{env.region}" in principals
    bucket = template["Resources"][store["Location"]["Ref"]]["Properties"]
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "artifacts/"
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }


def test_pipeline_lives_in_the_tooling_account(pipeline):
    manifest = json.loads((pipeline.outdir / "manifest.json").read_text())
    (stack,) = [a for a in manifest["artifacts"].values() if a.get("displayName") == "Pipeline"]
    assert stack["environment"] == "aws://111111111111/us-east-1"
