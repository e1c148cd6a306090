"""How code and libraries reach the jobs: requests AWS accepts, inputs that need no network.

The Processing jobs' entry point fits SageMaker's limits and hands over to ``job_entry.sh`` in
the tarball; every job gets the code tarball and the locked libraries' wheels as inputs, and
training finds its code in the ``code`` channel, as network-isolated jobs must.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import botocore.session
import pytest
import run_plan
from execution_input import normalise

from contracts import workflow as contract
from stacks.workflow.code_asset import source_files, tarball_bytes
from stacks.workflow.steps.processing import entrypoint
from tests.workflow.lambda_settings import SETTINGS
from tests.workflow.template_values import state_machine_definition, validator_environment

ROOT = Path(__file__).resolve().parents[2]
TRAINING_CODE = ROOT / "training_code"
PROCESSING_STATES = ("Prepare the data", "Evaluate the model")
RUN = {
    "run_name": "delivery",
    "base_model": "org/model",
    "dataset": {"s3_uri": "s3://data-bucket/d.csv"},
    "recipe": "lora",
}


def _states(definition: dict) -> dict[str, dict]:
    """Every state of the definition, those inside Map and Parallel states included."""
    found: dict[str, dict] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in [state.get("ItemProcessor"), *state.get("Branches", [])]:
            if branch:
                found |= _states(branch)
    return found


def _entrypoint_item_max() -> int:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.shape_for("ContainerEntrypointString").metadata["max"]


@pytest.mark.parametrize("env_name", ["local", "dev", "prod"])
def test_every_processing_entrypoint_item_fits_what_sagemaker_accepts(resolver_for, env_name):
    """botocore's ContainerEntrypointString; an inline script over it is rejected by AWS."""
    limit = _entrypoint_item_max()
    processing = {
        name: state["Parameters"]
        for name, state in _states(state_machine_definition(resolver_for(env_name))).items()
        if str(state.get("Resource", "")).endswith(":createProcessingJob.sync")
    }
    assert sorted(processing) == sorted(PROCESSING_STATES)
    for name, request in processing.items():
        items = request["AppSpecification"]["ContainerEntrypoint"]
        too_long = {item: len(item) for item in items if len(item) > limit}
        assert not too_long, f"{name}: items over {limit} characters: {too_long}"


def test_the_entry_script_ships_executable_in_the_code_tarball():
    assert contract.PROCESSING_ENTRY_SCRIPT in [p.as_posix() for p in source_files(TRAINING_CODE)]
    with tarfile.open(fileobj=io.BytesIO(tarball_bytes(TRAINING_CODE)), mode="r:gz") as tar:
        member = tar.getmember(contract.PROCESSING_ENTRY_SCRIPT)
    assert member.mode & 0o111 == 0o111
    assert entrypoint("prepare_data.py")[2].endswith(
        f'{contract.PROCESSING_ENTRY_SCRIPT} "$0" "$@"'
    )


def _run_entry_script(tmp_path: Path, lock: str, environ: dict[str, str]):
    """``job_entry.sh show_args.py --flag "two words"`` in a copy of the code folder."""
    code = tmp_path / "code"
    code.mkdir()
    script = code / contract.PROCESSING_ENTRY_SCRIPT
    script.write_bytes((TRAINING_CODE / contract.PROCESSING_ENTRY_SCRIPT).read_bytes())
    script.chmod(0o755)
    (code / "requirements.lock").write_text(lock)
    (code / "show_args.py").write_text("import sys\nprint('ran', sys.argv[1:])\n")
    # python3 is this interpreter (the project's environment); no pip configuration applies.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {"PATH": path, "PIP_CONFIG_FILE": os.devnull, **environ}
    return subprocess.run(
        [str(script), "show_args.py", "--flag", "two words"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_entry_script_installs_offline_then_runs_the_program(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    pinned = f"pytest=={pytest.__version__}\n"  # installed here: nothing to fetch
    result = _run_entry_script(tmp_path, pinned, {contract.WHEELS_DIR_VARIABLE: str(wheels)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ran ['--flag', 'two words']"


def test_a_locked_version_the_wheels_lack_stops_the_job_before_its_program(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    result = _run_entry_script(
        tmp_path, "pytest==0.0.1\n", {contract.WHEELS_DIR_VARIABLE: str(wheels)}
    )
    assert result.returncode != 0
    assert "ran" not in result.stdout
    assert "pytest==0.0.1" in result.stderr


def test_the_entry_script_needs_the_wheels_folder_named(tmp_path):
    result = _run_entry_script(tmp_path, "", {})
    assert result.returncode != 0
    assert f"{contract.WHEELS_DIR_VARIABLE}: is not set" in result.stderr
    assert "ran" not in result.stdout


@pytest.mark.parametrize("env_name", ["local", "staging"])
def test_both_processing_jobs_name_their_wheels_folder(resolver_for, env_name):
    states = state_machine_definition(resolver_for(env_name))["States"]
    for name in PROCESSING_STATES:
        environment = states[name]["Parameters"]["Environment"]
        assert environment[contract.WHEELS_DIR_VARIABLE] == contract.PROCESSING_WHEELS_DIR
        assert "INSTALL_REQUIREMENTS" not in environment


def _plan() -> dict:
    return run_plan.plan(normalise(RUN, "e", SETTINGS), SETTINGS)


def test_both_processing_jobs_get_the_code_and_the_wheels():
    plan = _plan()
    for job in ("prepare", "evaluate"):
        inputs = {item["InputName"]: item["S3Input"] for item in plan[job]["inputs"]}
        assert inputs["code"]["S3Uri"] == SETTINGS.code_uri
        assert inputs["wheels"]["S3Uri"] == SETTINGS.wheels_uri
        assert inputs["wheels"]["LocalPath"] == contract.PROCESSING_WHEELS_DIR
        assert inputs["wheels"]["S3DataType"] == "S3Prefix"


def test_training_reads_its_code_and_wheels_from_channels_not_from_s3():
    """The toolkit downloads an s3:// submit directory from inside the container, which a
    network-isolated job cannot; a local tarball path it unpacks in place."""
    training = _plan()["training"]
    channels = {c["ChannelName"]: c for c in training["channels"]}
    for name, uri in (("code", SETTINGS.code_uri), ("wheels", SETTINGS.wheels_uri)):
        assert channels[name]["DataSource"]["S3DataSource"]["S3Uri"] == uri
        assert channels[name]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
        assert channels[name]["CompressionType"] == "None"
    assert training["hyperparameters"]["sagemaker_submit_directory"] == (
        "/opt/ml/input/data/code/code.gz"
    )
    named = run_plan.submit_directory("s3://bucket/cdk/0a1b.tar.gz")
    assert named == "/opt/ml/input/data/code/0a1b.tar.gz"


def test_the_toolkit_installs_the_lock_offline_from_the_wheels_channel():
    """requirements.txt is what the toolkit pip-installs from the code folder before train.py."""
    wheels_channel = f"{contract.TRAINING_CHANNELS_DIR}/{contract.WHEELS_INPUT}"
    assert (TRAINING_CODE / "requirements.txt").read_text().splitlines() == [
        "--no-index",
        f"--find-links {wheels_channel}",
        "-r requirements.lock",
    ]


def test_the_validator_gets_the_wheels_prefix_the_jobs_may_read(resolver_for):
    resolver = resolver_for("dev")
    uri = validator_environment(resolver)[contract.ENV_WHEELS_URI]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    assert bucket.startswith("cdk-hnb659fds-assets-")  # the bootstrap's assets bucket
    assert prefix.endswith("/") and prefix.count("/") == 1
    (role,) = [
        r for i, r in resolver.resources("AWS::IAM::Role").items() if i.startswith("SageMakerRole")
    ]
    (policy,) = resolver.resolve(role["Properties"]["Policies"])
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadJobWheels"]["Action"] == "s3:GetObject"
    assert statements["ReadJobWheels"]["Resource"] == f"arn:aws:s3:::{bucket}/{prefix}*"
    assert statements["ListJobWheels"]["Resource"] == f"arn:aws:s3:::{bucket}"
    assert statements["ListJobWheels"]["Condition"] == {"StringEquals": {"s3:prefix": [prefix]}}
    # The local cloud's folder (no wheels) is another asset than AWS's.
    assert validator_environment(resolver_for("local"))[contract.ENV_WHEELS_URI] != uri
