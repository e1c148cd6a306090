"""`python -m cli preflight`: each check's answers, from botocore's Stubber, and the report.

Every client is a real botocore client whose calls are checked against the service model; the
stubbed answers are the shapes AWS documents, errors included.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber

import cli.__main__ as cli_main
from cli.errors import CliError
from cli.preflight import preflight, report
from cli.preflight.bootstrap import BootstrapNames, check_account, check_bootstrap
from cli.preflight.concurrency import check_concurrency, reserved_by
from cli.preflight.findings import Finding
from cli.preflight.images import check_images
from cli.preflight.locations import check_buckets, check_input, check_serving_model
from cli.preflight.quotas import check_quotas, quota_needs
from stacks.config import load_config
from stacks.workflow.images import WorkflowImages

REGION = "us-east-1"
PROJECT = load_config()
DEV = PROJECT.environment("dev")  # account 222222222222, spot training on ml.g5.2xlarge
PIPELINE = PROJECT.pipeline.account  # 111111111111
NAMES = BootstrapNames("hnb659fds", "CDKToolkit")
PARAMETER = "/cdk-bootstrap/hnb659fds/version"
DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
TRAINING_IMAGE = f"{DLC}/huggingface-pytorch-training:1.0-gpu"
SERVING_IMAGE = f"{DLC}/djl-inference:0.36.0-lmi18.0.0-cu128"
IMAGES = WorkflowImages(TRAINING_IMAGE, TRAINING_IMAGE, SERVING_IMAGE)
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


@contextmanager
def stubbed(service: str) -> Iterator[tuple[object, Stubber]]:
    """A client of ``service`` whose every call must be stubbed, and its stubber."""
    client = botocore.session.get_session().create_client(
        service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _one(findings: list[Finding]) -> Finding:
    (finding,) = findings
    return finding


# --- account and region ---------------------------------------------------------------------


def test_credentials_of_another_account_are_a_problem_naming_both():
    with stubbed("sts") as (sts, stub):
        stub.add_response("get_caller_identity", {"Account": "999999999999"})
        finding = _one(check_account(sts, DEV, REGION))
    assert finding.status == "problem"
    assert "reach account 999999999999, but environments.dev.account is 222222222222" in (
        finding.detail
    )
    assert finding.fix.startswith("use a profile of account 222222222222 (--profile)")


def test_a_region_other_than_the_environments_is_a_problem():
    with stubbed("sts") as (sts, stub):
        stub.add_response("get_caller_identity", {"Account": DEV.account})
        account, region = check_account(sts, DEV, "eu-west-1")
    assert account.status == "ok"
    assert region.status == "problem"
    assert region.fix == "leave out --region, or give --region us-east-1"


# --- CDK bootstrap --------------------------------------------------------------------------


def _toolkit(trusted: str) -> dict:
    return {
        "Stacks": [
            {
                "StackName": "CDKToolkit",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Parameters": [{"ParameterKey": "TrustedAccounts", "ParameterValue": trusted}],
            }
        ]
    }


def _version(stub: Stubber) -> None:
    stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": PARAMETER, "Value": "27", "Type": "String"}},
        {"Name": PARAMETER},
    )


def test_no_bootstrap_is_a_problem_whose_fix_trusts_the_pipeline():
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, _):
        stub.add_client_error(
            "get_parameter", "ParameterNotFound", expected_params={"Name": PARAMETER}
        )
        finding = _one(check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE))
    assert finding.status == "problem"
    assert finding.detail == f"not bootstrapped: SSM parameter {PARAMETER} does not exist"
    assert finding.fix == (
        "npx cdk bootstrap aws://222222222222/us-east-1 --trust 111111111111 "
        "--cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess"
    )


def test_a_bootstrap_that_trusts_the_pipeline_is_ok():
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, cfn_stub):
        _version(stub)
        cfn_stub.add_response(
            "describe_stacks", _toolkit("111111111111"), {"StackName": "CDKToolkit"}
        )
        version, trust = check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE)
    assert (version.status, trust.status) == ("ok", "ok")
    assert version.detail == "bootstrap version 27 (qualifier hnb659fds)"


def test_a_bootstrap_without_the_pipelines_trust_is_a_problem_keeping_earlier_trusts():
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, cfn_stub):
        _version(stub)
        cfn_stub.add_response("describe_stacks", _toolkit("555555555555"))
        _, trust = check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE)
    assert trust.status == "problem"
    assert "trusts 555555555555, not the pipeline's account 111111111111" in trust.detail
    assert "--trust 555555555555 --trust 111111111111" in trust.fix


def test_no_toolkit_stack_by_that_name_cannot_tell_the_trust():
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, cfn_stub):
        _version(stub)
        cfn_stub.add_client_error("describe_stacks", "ValidationError", "Stack does not exist")
        _, trust = check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE)
    assert trust.status == "cannot tell"
    assert "another --toolkit-stack-name" in trust.detail


def test_a_denied_version_parameter_cannot_tell():
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, _):
        stub.add_client_error("get_parameter", "AccessDeniedException", http_status_code=400)
        finding = _one(check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE))
    assert finding.status == "cannot tell"
    assert finding.detail == f"GetParameter was denied (AccessDeniedException) for {PARAMETER}"


def test_a_pipeline_in_the_same_account_needs_no_trust():
    same = dataclasses.replace(DEV, account=PIPELINE)
    with stubbed("ssm") as (ssm, stub), stubbed("cloudformation") as (cfn, _):
        _version(stub)
        assert _one(check_bootstrap(ssm, cfn, same, NAMES, trusted_account=PIPELINE)).status == "ok"


def test_the_qualifier_and_toolkit_stack_follow_cdk_json(tmp_path):
    assert BootstrapNames.of_app() == NAMES  # the shipped cdk.json sets neither
    custom = tmp_path / "cdk.json"
    custom.write_text(
        json.dumps(
            {
                "toolkitStackName": "MyToolkit",
                "context": {"@aws-cdk/core:bootstrapQualifier": "abc123"},
            }
        )
    )
    names = BootstrapNames.of_app(custom)
    assert names == BootstrapNames("abc123", "MyToolkit")
    assert names.version_parameter == "/cdk-bootstrap/abc123/version"


# --- images ---------------------------------------------------------------------------------


def _image_request(repository: str, image_id: dict) -> dict:
    return {
        "registryId": "763104351884",
        "repositoryName": repository,
        "imageIds": [image_id],
        "acceptedMediaTypes": MANIFEST_TYPES,
    }


def test_each_distinct_image_is_looked_up_once_in_its_registry():
    with stubbed("ecr") as (ecr, stub):
        found = {"images": [{"imageId": {"imageTag": "x"}}], "failures": []}
        stub.add_response(
            "batch_get_image",
            found,
            _image_request("huggingface-pytorch-training", {"imageTag": "1.0-gpu"}),
        )
        stub.add_response(
            "batch_get_image",
            found,
            _image_request("djl-inference", {"imageTag": "0.36.0-lmi18.0.0-cu128"}),
        )
        job, serving = check_images(lambda region: ecr, IMAGES)
    assert (job.status, serving.status) == ("ok", "ok")
    assert job.subject == f"training and processing image {TRAINING_IMAGE}"


def test_an_image_by_digest_is_looked_up_by_digest():
    digest = "sha256:" + "e" * 64
    images = WorkflowImages(f"{DLC}/repo@{digest}", f"{DLC}/repo@{digest}", SERVING_IMAGE)
    with stubbed("ecr") as (ecr, stub):
        stub.add_response(
            "batch_get_image",
            {"images": [], "failures": [{"failureCode": "ImageNotFound", "failureReason": "no"}]},
            _image_request("repo", {"imageDigest": digest}),
        )
        stub.add_client_error("batch_get_image", "RepositoryNotFoundException")
        missing, no_repository = check_images(lambda region: ecr, images)
    assert missing.status == "problem"
    assert missing.detail == "not in repo (ImageNotFound: no)"
    assert missing.fix.startswith("set images.training in config/environments.yaml")
    assert no_repository.status == "problem"
    assert no_repository.detail == "registry 763104351884 has no repository djl-inference"
    assert no_repository.fix.startswith("set images.serving")


def test_a_denied_or_unclear_image_lookup_cannot_tell():
    with stubbed("ecr") as (ecr, stub):
        stub.add_client_error("batch_get_image", "AccessDeniedException")
        stub.add_response(
            "batch_get_image",
            {"images": [], "failures": [{"failureCode": "KmsError", "failureReason": "kms"}]},
        )
        denied, unclear = check_images(lambda region: ecr, IMAGES)
    assert denied.status == "cannot tell"
    assert "BatchGetImage was denied (AccessDeniedException)" in denied.detail
    assert unclear.status == "cannot tell"
    assert unclear.detail == "ECR could not say (KmsError: kms)"


# --- quotas ---------------------------------------------------------------------------------


def _quotas(*named: tuple[str, float]) -> dict:
    return {
        "Quotas": [
            {"ServiceCode": "sagemaker", "QuotaName": name, "QuotaCode": "L-1", "Value": value}
            for name, value in named
        ]
    }


SPOT = "ml.g5.2xlarge for spot training job usage"
PROCESSING = "ml.m5.xlarge for processing job usage"
ENDPOINT = "ml.g5.2xlarge for endpoint usage"


def test_the_needed_quotas_follow_the_configuration():
    assert [(need.name, need.instances) for need in quota_needs(DEV)] == [
        (SPOT, 1),
        (PROCESSING, 1),
        (ENDPOINT, 1),
    ]
    on_demand = dataclasses.replace(
        DEV,
        training=dataclasses.replace(
            DEV.training, use_spot=False, max_wait_minutes=None, instance_count=2
        ),
        serving_model="s3://models/m/",
    )
    needs = {need.name: need for need in quota_needs(on_demand)}
    assert needs["ml.g5.2xlarge for training job usage"].instances == 2
    # The evaluation and serving endpoints share one instance type, so one quota: 1 + 2.
    assert needs[ENDPOINT].instances == 1 + DEV.endpoint.max_instances
    assert needs[ENDPOINT].uses == ("evaluation endpoint", "serving endpoint")


def test_a_quota_of_zero_is_a_problem_whose_fix_names_the_quota():
    with stubbed("service-quotas") as (quotas, stub):
        stub.add_response(
            "list_service_quotas",
            _quotas((SPOT, 0.0), (PROCESSING, 4.0), (ENDPOINT, 1.0), ("other", 9.0)),
            {"ServiceCode": "sagemaker"},
        )
        spot, processing, endpoint = check_quotas(quotas, DEV)
    assert spot.status == "problem"
    assert spot.detail == "0 in us-east-1, 1 needed (training)"
    assert spot.fix == f"request an increase in the Service Quotas console: {SPOT}"
    assert (processing.status, endpoint.status) == ("ok", "ok")
    assert processing.detail == "4 >= 1 needed (processing)"


def test_a_quota_below_the_instance_count_is_a_problem():
    four = dataclasses.replace(DEV, training=dataclasses.replace(DEV.training, instance_count=4))
    with stubbed("service-quotas") as (quotas, stub):
        stub.add_response(
            "list_service_quotas", _quotas((SPOT, 2.0), (PROCESSING, 1.0), (ENDPOINT, 1.0))
        )
        spot, _, _ = check_quotas(quotas, four)
    assert spot.status == "problem"
    assert spot.detail == "2 in us-east-1, 4 needed (training)"


def test_a_quota_without_an_applied_value_is_read_from_the_defaults():
    with stubbed("service-quotas") as (quotas, stub):
        stub.add_response("list_service_quotas", {**_quotas((SPOT, 1.0)), "NextToken": "page-2"})
        stub.add_response(
            "list_service_quotas",
            _quotas((PROCESSING, 1.0)),
            {"ServiceCode": "sagemaker", "NextToken": "page-2"},
        )
        stub.add_response(
            "list_aws_default_service_quotas",
            _quotas((ENDPOINT, 0.0)),
            {"ServiceCode": "sagemaker"},
        )
        spot, processing, endpoint = check_quotas(quotas, DEV)
    assert (spot.status, processing.status) == ("ok", "ok")
    assert endpoint.status == "problem"
    assert endpoint.fix == f"request an increase in the Service Quotas console: {ENDPOINT}"


def test_an_unknown_or_denied_quota_cannot_tell():
    with stubbed("service-quotas") as (quotas, stub):
        stub.add_response("list_service_quotas", _quotas((SPOT, 1.0), (PROCESSING, 1.0)))
        stub.add_response("list_aws_default_service_quotas", _quotas())
        *_, endpoint = check_quotas(quotas, DEV)
    assert endpoint.status == "cannot tell"
    assert endpoint.detail.startswith("no such SageMaker quota in us-east-1")
    with stubbed("service-quotas") as (quotas, stub):
        stub.add_client_error("list_service_quotas", "AccessDeniedException")
        findings = check_quotas(quotas, DEV)
    assert [f.status for f in findings] == ["cannot tell"] * 3
    assert findings[0].detail.startswith("ListServiceQuotas was denied (AccessDeniedException)")


# --- buckets, the pinned model, the execution input -----------------------------------------


def _storage(**outputs: str) -> dict:
    return {
        "Stacks": [
            {
                "StackName": "Dev-Storage",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def test_the_buckets_of_the_deployed_storage_stack_are_listed():
    with stubbed("cloudformation") as (cfn, cfn_stub), stubbed("s3") as (s3, s3_stub):
        cfn_stub.add_response(
            "describe_stacks",
            _storage(DataBucketName="data-b", ArtifactsBucketName="artifacts-b"),
            {"StackName": "Dev-Storage"},
        )
        s3_stub.add_response(
            "list_objects_v2", {"KeyCount": 0}, {"Bucket": "data-b", "Prefix": "", "MaxKeys": 1}
        )
        s3_stub.add_client_error("list_objects_v2", "NoSuchBucket", http_status_code=404)
        data, artifacts = check_buckets(cfn, s3, "Dev")
    assert data.status == "ok"
    assert artifacts.status == "problem"
    assert artifacts.detail == "bucket artifacts-b does not exist"
    assert artifacts.fix == "redeploy Dev-Storage"


def test_an_undeployed_storage_stack_is_skipped_and_a_denied_bucket_cannot_tell():
    with stubbed("cloudformation") as (cfn, cfn_stub), stubbed("s3") as (s3, _):
        cfn_stub.add_client_error("describe_stacks", "ValidationError", "does not exist")
        assert _one(check_buckets(cfn, s3, "Dev")).status == "skipped"
    with stubbed("cloudformation") as (cfn, cfn_stub), stubbed("s3") as (s3, s3_stub):
        cfn_stub.add_response("describe_stacks", _storage(DataBucketName="data-b"))
        s3_stub.add_client_error("list_objects_v2", "AccessDenied", http_status_code=403)
        data, artifacts = check_buckets(cfn, s3, "Dev")
    assert data.status == "cannot tell"
    assert "ListObjectsV2 was denied (AccessDenied)" in data.detail
    assert artifacts.status == "problem"
    assert artifacts.detail == "has no output ArtifactsBucketName"


def test_a_pinned_model_that_does_not_exist_is_a_problem():
    package = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/3"
    with stubbed("s3") as (s3, s3_stub), stubbed("sagemaker") as (sagemaker, sm_stub):
        s3_stub.add_response(
            "list_objects_v2", {"KeyCount": 0}, {"Bucket": "models", "Prefix": "m/", "MaxKeys": 1}
        )
        empty = _one(
            check_serving_model(
                s3, sagemaker, dataclasses.replace(DEV, serving_model="s3://models/m/")
            )
        )
        sm_stub.add_client_error("describe_model_package", "ValidationException", "not found")
        missing = _one(
            check_serving_model(s3, sagemaker, dataclasses.replace(DEV, serving_model=package))
        )
    assert empty.status == "problem"
    assert empty.detail == "nothing under s3://models/m/"
    assert empty.fix == (
        "pin a model that exists in environments.dev.serving_model (config/environments.yaml)"
    )
    assert missing.status == "problem"
    assert missing.detail == f"{package} does not exist"
    assert check_serving_model(s3, sagemaker, DEV) == []  # nothing pinned


def test_the_execution_inputs_base_model_and_dataset_must_exist():
    run = {
        "base_model": "s3://data-b/models/smol/",
        "dataset": {"s3_uri": "s3://data-b/datasets/sql.jsonl"},
    }
    with stubbed("s3") as (s3, stub):
        stub.add_response(
            "list_objects_v2",
            {"KeyCount": 0},
            {"Bucket": "data-b", "Prefix": "models/smol/config.json", "MaxKeys": 1},
        )
        stub.add_response(
            "list_objects_v2",
            {"KeyCount": 1},
            {"Bucket": "data-b", "Prefix": "datasets/sql.jsonl", "MaxKeys": 1},
        )
        model, dataset = check_input(s3, run)
    assert model.status == "problem"
    assert model.detail == "nothing under s3://data-b/models/smol/config.json"
    assert model.fix == "upload the model folder there, or give the S3 URI where it is"
    assert dataset.status == "ok"
    assert check_input(s3, {"base_model": "org/model", "dataset": {"hf_dataset_id": "x"}}) == []


# --- the report and the command line ----------------------------------------------------------


FINDINGS = [
    Finding("account", "ok", "environments.dev", "fine"),
    Finding("quota", "problem", SPOT, "0 in us-east-1, 1 needed (training)", "request it"),
    Finding("image", "cannot tell", "serving image", "denied"),
]


def test_the_report_is_a_line_per_finding_and_a_summary_and_fails_on_a_problem(capsys):
    assert report(FINDINGS, "dev on aws", as_json=False) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1]
        == f"PROBLEM      quota     {SPOT}: 0 in us-east-1, 1 needed (training); fix: request it"
    )
    assert lines[-1] == "preflight dev on aws: 1 problem, 1 cannot tell, 1 ok"
    assert report([FINDINGS[0], FINDINGS[2]], "dev on aws", as_json=False) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("; no problem found")


def test_the_json_report_holds_every_finding_and_the_summary(capsys):
    assert report(FINDINGS, "dev on aws", as_json=True) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert document["summary"] == {"problem": 1, "cannot tell": 1, "ok": 1}
    assert document["findings"][1] == {
        "check": "quota",
        "status": "problem",
        "subject": SPOT,
        "detail": "0 in us-east-1, 1 needed (training)",
        "fix": "request it",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["preflight", "--target", "aws", "--env", "dev", "--profile", "p", "--json"],
        ["--target", "aws", "--env", "dev", "--profile", "p", "preflight", "--json"],
    ],
)
def test_the_command_takes_the_target_before_or_after_it(monkeypatch, argv):
    calls = []
    monkeypatch.setattr(
        "cli.preflight.preflight", lambda *args, **kwargs: calls.append((args, kwargs)) or 0
    )
    assert cli_main.main(argv) == 0
    assert calls == [
        (("aws", "dev"), {"profile": "p", "region": None, "input_arg": None, "as_json": True})
    ]


def test_an_environment_the_configuration_lacks_is_one_line(tmp_path):
    config = tmp_path / "environments.yaml"
    text = Path("config/environments.yaml").read_text()
    config.write_text(text[: text.index("\n  prod:")] + "\n")
    with pytest.raises(CliError, match="unknown environment 'prod'"):
        preflight("aws", "prod", config_path=config)


def test_denied_stack_and_model_package_lookups_cannot_tell():
    package = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/3"
    pinned = dataclasses.replace(DEV, serving_model=package)
    with (
        stubbed("ssm") as (ssm, ssm_stub),
        stubbed("cloudformation") as (cfn, cfn_stub),
        stubbed("s3") as (s3, _),
        stubbed("sagemaker") as (sagemaker, sm_stub),
    ):
        _version(ssm_stub)
        cfn_stub.add_client_error("describe_stacks", "AccessDenied", http_status_code=403)
        cfn_stub.add_client_error("describe_stacks", "AccessDenied", http_status_code=403)
        sm_stub.add_client_error("describe_model_package", "AccessDeniedException")
        sm_stub.add_response(
            "describe_model_package",
            {
                "ModelPackageName": "llm-finetune-dev",
                "ModelPackageArn": package,
                "CreationTime": "2026-01-01T00:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": []},
                "ModelApprovalStatus": "Approved",
            },
            {"ModelPackageName": package},
        )
        _, trust = check_bootstrap(ssm, cfn, DEV, NAMES, trusted_account=PIPELINE)
        storage = _one(check_buckets(cfn, s3, "Dev"))
        denied = _one(check_serving_model(s3, sagemaker, pinned))
        found = _one(check_serving_model(s3, sagemaker, pinned))
    assert trust.status == storage.status == denied.status == "cannot tell"
    assert storage.detail == "DescribeStacks was denied (AccessDenied)"
    assert denied.detail == f"DescribeModelPackage was denied (AccessDeniedException) for {package}"
    assert (found.status, found.detail) == ("ok", f"{package} exists (Approved)")


# --- Lambda concurrency ----------------------------------------------------------------------


def _settings(stub: Stubber, unreserved: int, total: int = 1000) -> None:
    limit = {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}
    stub.add_response("get_account_settings", {"AccountLimit": limit})


def test_room_for_the_validators_reservation_is_ok():
    with stubbed("lambda") as (lam, stub), stubbed("cloudformation") as (cfn, _):
        _settings(stub, unreserved=115)
        finding = _one(check_concurrency(lam, cfn, "Dev"))
    assert finding.status == "ok" and "115 unreserved of 1000" in finding.detail


def test_a_new_accounts_low_concurrency_is_a_problem_naming_the_quota():
    with stubbed("lambda") as (lam, stub), stubbed("cloudformation") as (cfn, cfn_stub):
        _settings(stub, unreserved=10, total=10)
        cfn_stub.add_client_error(
            "describe_stacks", "ValidationError", "Stack with id Dev-Workflow does not exist"
        )
        finding = _one(check_concurrency(lam, cfn, "Dev"))
    assert finding.status == "problem"
    assert "10 unreserved of 10" in finding.detail
    # 100 kept unreserved + 10 for the validator + 5 for the cost step's function.
    assert "'Concurrent executions' to at least 115" in finding.fix


def test_a_deployed_workflow_already_holds_its_reservation():
    with stubbed("lambda") as (lam, stub), stubbed("cloudformation") as (cfn, cfn_stub):
        _settings(stub, unreserved=100, total=115)
        cfn_stub.add_response("describe_stacks", {"Stacks": []}, {"StackName": "Dev-Workflow"})
        finding = _one(check_concurrency(lam, cfn, "Dev"))
    assert finding.status == "ok" and "already holds" in finding.detail


def test_a_denied_account_settings_call_cannot_tell():
    with stubbed("lambda") as (lam, stub), stubbed("cloudformation") as (cfn, _):
        stub.add_client_error("get_account_settings", "AccessDeniedException")
        finding = _one(check_concurrency(lam, cfn, "Dev"))
    assert finding.status == "cannot tell"


def test_vpc_mode_reserves_one_more_for_the_security_group_handler():
    prod, dev = PROJECT.environment("prod"), PROJECT.environment("dev")
    assert prod.network.vpc and not dev.network.vpc
    assert reserved_by(prod) == reserved_by(dev) + 1
