"""The real CDK CLI bootstraps and deploys a two-stack app to the local cloud, which runs it.

One bootstrap + deploy per session (each CLI run costs several seconds). The last test
redeploys with another context value, so it stays last in the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.client import BaseClient

from localcloud.deploy import bootstrap, deploy
from localcloud.server import LocalCloud
from tests.localcloud.helpers import run_execution

pytestmark = pytest.mark.e2e
APP_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "cdk_app"
EXPORT_NAME = "FixtureStorage-BucketName"


@pytest.fixture(scope="module")
def outputs(local_cloud: LocalCloud) -> dict[str, dict[str, str]]:
    bootstrap(local_cloud, quiet=True)
    return deploy(local_cloud, APP_DIR, {}, quiet=True)


@pytest.fixture(scope="module")
def machine(outputs: dict[str, dict[str, str]]) -> str:
    return outputs["FixtureWorkflow"]["StateMachineArn"]


def test_bootstrap_created_the_toolkit(outputs: dict, aws: Callable[[str], BaseClient]) -> None:
    toolkit = aws("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    toolkit_outputs = {o["OutputKey"]: o["OutputValue"] for o in toolkit["Outputs"]}
    assert toolkit_outputs["BucketName"] == "cdk-hnb659fds-assets-123456789012-us-east-1"
    assert int(toolkit_outputs["BootstrapVersion"]) >= 28


def test_export_crosses_stacks(outputs: dict, aws: Callable[[str], BaseClient]) -> None:
    bucket = outputs["FixtureStorage"]["BucketName"]
    assert bucket.startswith("fixturestorage-data")
    exports = {e["Name"]: e["Value"] for e in aws("cloudformation").list_exports()["Exports"]}
    assert exports[EXPORT_NAME] == bucket
    assert outputs["FixtureWorkflow"]["BucketSeen"] == bucket


def test_execution_runs_the_lambda_and_branches(
    outputs: dict, machine: str, aws: Callable[[str], BaseClient]
) -> None:
    result = run_execution(aws("stepfunctions"), machine, {"value": 21})

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    bucket = outputs["FixtureStorage"]["BucketName"]
    assert output["size"] == "big"
    assert output["result"]["doubled"] == 42
    assert output["result"]["bucket"] == output["result"]["imported_bucket"] == bucket
    assert output["result"]["function"] == outputs["FixtureWorkflow"]["FunctionName"]
    written = aws("s3").get_object(Bucket=bucket, Key=output["result"]["key"])["Body"].read()
    assert json.loads(written) == {"doubled": 42}


def test_catch_handles_the_lambda_error(machine: str, aws: Callable[[str], BaseClient]) -> None:
    sfn = aws("stepfunctions")
    result = run_execution(sfn, machine, {"value": 1, "fail": True})

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"caught": "AskedToFailError"}
    events = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
    # payload_response_only makes the task a plain Lambda resource: LambdaFunctionFailed events.
    failures = [e["lambdaFunctionFailedEventDetails"] for e in events if "Failed" in e["type"]]
    assert failures[0]["error"] == "AskedToFailError"
    assert "failing on request for value 1" in failures[0]["cause"]


def test_uncaught_error_fails_the_execution(machine: str, aws: Callable[[str], BaseClient]) -> None:
    result = run_execution(aws("stepfunctions"), machine, {"value": "twelve"})
    assert (result["status"], result["error"]) == ("FAILED", "ValueError")
    assert "invalid literal for int()" in result["cause"]


def test_redeploy_updates_the_state_machine(
    local_cloud: LocalCloud, machine: str, aws: Callable[[str], BaseClient]
) -> None:
    updated = deploy(local_cloud, APP_DIR, {"threshold": "100"}, quiet=True)

    assert updated["FixtureWorkflow"]["StateMachineArn"] == machine  # updated in place
    stack = aws("cloudformation").describe_stacks(StackName="FixtureWorkflow")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    result = run_execution(aws("stepfunctions"), machine, {"value": 21})
    assert json.loads(result["output"])["size"] == "small"  # 42 no longer exceeds the threshold
