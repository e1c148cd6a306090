"""`python -m cli` commands against moto in-process: everyday mistakes end in one line, not a
traceback, and `report` finds a run by its execution name."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

import cli.__main__ as cli_main
from cli import runs
from cli.target import Target, TargetError

REGION = "us-east-1"
ARTIFACTS = "artifacts-bucket"


class MotoTarget(Target):
    """The local environment's deployment, as far as the commands look: a state machine and the
    artifacts bucket, without the CloudFormation stacks that name them."""

    machine_arn: str = ""

    def state_machine_arn(self) -> str:
        return self.machine_arn

    def buckets(self) -> tuple[str, str]:
        return "data-bucket", ARTIFACTS


@pytest.fixture
def session(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    # Plain moto, whatever an earlier test's moto server set for the whole process (the
    # workflow tests turn on executing state machines, whose backend checks no names).
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def target(session, monkeypatch) -> MotoTarget:
    """A deployed target that every command of `python -m cli` uses."""
    machine = session.client("stepfunctions").create_state_machine(
        name="Workflow",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/workflow",
    )
    session.client("s3").create_bucket(Bucket=ARTIFACTS)
    deployed = MotoTarget("local", session)
    deployed.machine_arn = machine["stateMachineArn"]
    monkeypatch.setattr(cli_main, "_target", lambda args: deployed)
    return deployed


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_local_cloud_is_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setattr("localcloud.server.find", lambda: None)
    code, _, err = _run(["runs"], capsys)
    assert code == 1
    assert err.startswith("error: no local cloud is running: start one with")
    assert err.count("\n") == 1


def test_following_an_unknown_execution_says_how_to_list_them(target, capsys):
    code, _, err = _run(["follow", "nope"], capsys)
    assert code == 1
    assert err.startswith("error: GetExecutionHistory: ExecutionDoesNotExist: ")
    assert err.endswith("`python -m cli runs` lists the newest executions\n")


def test_a_bad_execution_name_is_one_line(target, capsys):
    code, _, err = _run(["start", "--input", "{}", "--name", "bad name!"], capsys)
    assert code == 1
    assert err == (
        "error: StartExecution: InvalidName: Invalid Name: 'bad name!'; "
        "an execution name is 1 to 80 letters, digits, '-' or '_'\n"
    )


def test_a_report_that_is_not_there_yet_is_one_line(target, capsys, tmp_path):
    code, _, err = _run(["report", "my-run", "--out", str(tmp_path)], capsys)
    assert code == 1
    assert err.startswith(
        f"error: no evaluation files under s3://{ARTIFACTS}/runs/my-run/evaluation/"
    )


def test_a_stack_that_is_not_deployed_says_deploy_it_first(session, monkeypatch, capsys):
    dev = Target("dev", session)
    with pytest.raises(TargetError, match=r"stack Dev-Workflow is not deployed .*deploy it first"):
        dev.state_machine_arn()
    monkeypatch.setattr(cli_main, "_target", lambda args: dev)
    code, _, err = _run(["--env", "dev", "runs"], capsys)
    assert (code, err.count("\n")) == (1, 1)
    assert err.startswith("error: stack Dev-Workflow is not deployed on this target")


def test_a_bug_keeps_its_traceback(target, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("executions")

    monkeypatch.setattr(runs, "list_runs", broken)
    with pytest.raises(KeyError):
        cli_main.main(["runs"])


def _evaluation(session: boto3.Session, run_name: str) -> None:
    session.client("s3").put_object(
        Bucket=ARTIFACTS,
        Key=f"runs/{run_name}/evaluation/report.json",
        Body=json.dumps({"gate": {"passed": True, "metric": "exact_match", "value": 0.5}}),
    )


def test_report_finds_a_run_by_its_execution_name(target, session, capsys, tmp_path):
    sfn = session.client("stepfunctions")
    sfn.start_execution(stateMachineArn=target.machine_arn, name="my_run_1", input="{}")
    _evaluation(session, "my-run-1")
    code, out, _ = _run(["report", "my_run_1", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert '"passed": true' in out
    assert (tmp_path / "my-run-1" / "report.json").is_file()


def test_the_run_name_of_the_input_wins_over_the_execution_name(target, session):
    sfn = session.client("stepfunctions")
    input_ = json.dumps({"run_name": "SQL run #2"})
    sfn.start_execution(stateMachineArn=target.machine_arn, name="exec-2", input=input_)
    assert runs.run_name_of(target, "exec-2") == "SQL-run-2"


def test_the_run_name_of_the_output_wins_over_the_input():
    class Described:
        def describe_execution(self, executionArn: str) -> dict:
            return {
                "name": "exec-3",
                "input": json.dumps({"run_name": "asked"}),
                "output": json.dumps({"run": {"run_name": "validated"}}),
            }

    class Fake(Target):
        def client(self, service: str) -> Described:
            return Described()

    assert runs.run_name_of(Fake("local", None), "arn:aws:states:::execution:m:exec-3") == (
        "validated"
    )


def test_a_name_that_is_no_execution_is_taken_as_a_run_name(target):
    assert runs.run_name_of(target, "sql-run-2") == "sql-run-2"
    assert runs.run_name_of(target, "old_run") == "old-run"


COST = {
    "kind": "local estimate",
    "upper_bound": False,
    "currency": "USD",
    "region": REGION,
    "source": "price table costs/prices.json as of 2026-12-08",
    "stages": [
        {
            "stage": "training",
            "usage": "training",
            "instance_type": "ml.g5.2xlarge",
            "instance_count": 1,
            "seconds": 1800.0,
            "usd_per_hour": 1.515,
            "usd": 0.7575,
        }
    ],
    "total_usd": 0.76,
    "notes": [],
}


def test_start_prints_the_estimate_then_the_execution_it_started(target, capsys):
    execution_input = {"evaluation": {"compare_with_base": True}}
    code, out, _ = _run(["start", "--input", json.dumps(execution_input)], capsys)
    assert code == 0
    assert out.startswith("Estimated cost (upper bound), USD, us-east-1:")
    assert out.strip().splitlines()[-1].startswith("arn:aws:states:")
    # The local environment's config: two temporary endpoints when comparing with the base.
    assert "evaluation endpoints    2 x ml.g5.xlarge" in out
    assert "prices: " in out


def test_runs_and_report_show_the_cost_the_workflow_computed(target, session, capsys, tmp_path):
    sfn = session.client("stepfunctions")
    sfn.start_execution(stateMachineArn=target.machine_arn, name="costed", input="{}")
    sfn.start_execution(stateMachineArn=target.machine_arn, name="not-costed", input="{}")
    s3 = session.client("s3")
    s3.put_object(Bucket=ARTIFACTS, Key="runs/costed/cost.json", Body=json.dumps(COST))
    _evaluation(session, "costed")

    code, out, _ = _run(["runs"], capsys)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "USD 0.76" in lines["costed"]
    assert "USD" not in lines["not-costed"]

    code, out, _ = _run(["report", "costed", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "Cost (local estimate), USD, us-east-1:" in out
    assert "training                1 x ml.g5.2xlarge       0.50 h x   1.5150/h =      0.76" in out
