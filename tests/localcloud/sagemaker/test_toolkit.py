"""The emulated sagemaker-training toolkit: submit directory, requirements.txt, pip's verdict."""

from __future__ import annotations

import io
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

from localcloud.sagemaker import pip_check, toolkit
from localcloud.sagemaker.pip_check import PipWatch

from .conftest import Cloud, unique
from .script_jobs import PROBE_WHEEL, channel, log_of, probe_wheel, run_job, script_job

INSTALLED_YAML = metadata.version("PyYAML")
REPORT_PY = """
import os, pathlib
requirements = pathlib.Path("requirements.txt").read_text()
pathlib.Path(os.environ["SM_MODEL_DIR"], "ran.txt").write_text(requirements)
"""
REQUIREMENTS = "--no-index\n--find-links /opt/ml/input/data/wheels\n-r requirements.lock\n"


def _tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return path


def test_a_local_tarball_is_extracted_into_the_code_folder(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "sourcedir.tar.gz", {"train.py": "x", "pkg/a.txt": "a"})
    code = tmp_path / "code"
    toolkit.download_and_extract(str(tarball), code)
    assert sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file()) == [
        "pkg/a.txt",
        "train.py",
    ]


def test_a_local_folder_is_copied_and_a_code_folder_with_files_is_left_alone(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.py").write_text("x")
    code = tmp_path / "code"
    toolkit.download_and_extract(str(source), code)
    assert (code / "train.py").read_text() == "x"
    (source / "train.py").write_text("changed")
    toolkit.download_and_extract(str(source), code)  # not empty: the toolkit leaves it
    assert (code / "train.py").read_text() == "x"


def test_opt_ml_paths_in_requirements_files_point_into_the_sandbox(tmp_path: Path) -> None:
    code, sandbox = tmp_path / "code", tmp_path / "sandbox"
    code.mkdir()
    (code / "requirements.txt").write_text(REQUIREMENTS + "--find-links /opt/mlflow/wheels\n")
    (code / "requirements.lock").write_text("-c /opt/ml/input/data/pins.txt\nPyYAML==6.0.3\n")
    toolkit._rewrite_requirement_files(code / "requirements.txt", code, sandbox, set())
    assert (code / "requirements.txt").read_text() == (
        f"--no-index\n--find-links {sandbox}/input/data/wheels\n-r requirements.lock\n"
        "--find-links /opt/mlflow/wheels\n"
    )
    assert (code / "requirements.lock").read_text().startswith(f"-c {sandbox}/input/data/")


def test_pip_not_finding_a_locked_version_is_one_line_naming_both_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pip_check, "JOB_LOCK", tmp_path / "no.lock")
    watch = PipWatch()
    watch.observe("ERROR: Could not find a version that satisfies the requirement PyYAML==0.0.1")
    assert not watch.observe("ERROR: No matching distribution found for PyYAML==0.0.1")
    assert watch.reason(isolated=False) == (
        "ClientError: the job environment differs from the job's requirements: "
        f"PyYAML==0.0.1 is locked, {INSTALLED_YAML} is installed; run make setup"
    )


def test_a_package_pip_would_install_ends_the_job_and_names_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "training_code" / "requirements.lock"
    lock.parent.mkdir()
    lock.write_text("# pinned\nlocalcloud_probe==1.0\n")
    monkeypatch.setattr(pip_check, "JOB_LOCK", lock)
    monkeypatch.setattr(pip_check, "REPO_ROOT", tmp_path)
    watch = PipWatch()
    assert watch.observe("Would install localcloud-probe-1.0")
    assert watch.reason(isolated=False) == (
        "ClientError: the job environment differs from training_code/requirements.lock: "
        "localcloud-probe==1.0 is locked, it is not installed; run make setup"
    )


def test_an_unreachable_index_in_an_isolated_job_says_there_is_no_network() -> None:
    watch = PipWatch()
    watch.observe(
        "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError("
        "'<...>: Failed to establish a new connection: [Errno 101] Network is unreachable')'"
    )
    watch.observe("ERROR: No matching distribution found for localcloud-probe==1.0")
    assert watch.reason(isolated=True).startswith(
        "ClientError: pip could not reach a package index: a network-isolated job has no network"
    )
    assert watch.reason(isolated=False).startswith("ClientError: the job environment differs")


def test_the_code_channel_tarball_is_extracted_and_its_requirements_pip_checked(
    cloud: Cloud,
) -> None:
    name = unique("toolkit-code")
    files = {
        "train.py": REPORT_PY,
        "requirements.txt": REQUIREMENTS,
        "requirements.lock": f"PyYAML=={INSTALLED_YAML}\n",
    }
    job = run_job(cloud, script_job(cloud, name, files))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sandbox = cloud.state_dir / "jobs" / name
    assert cloud.get(f"output/{name}/output/model/ran.txt").decode() == (
        f"--no-index\n--find-links {sandbox}/input/data/wheels\n-r requirements.lock\n"
    )
    log = log_of(cloud, name)
    assert "Requirement already satisfied: PyYAML" in log
    assert log.index("Installing dependencies from requirements.txt") < log.index(
        "Invoking script with the following command"
    )


def test_a_locked_version_the_venv_lacks_fails_the_job_with_one_line(cloud: Cloud) -> None:
    name = unique("toolkit-mismatch")
    files = {
        "train.py": REPORT_PY,
        "requirements.txt": REQUIREMENTS,
        "requirements.lock": "PyYAML==0.0.1\n",
    }
    job = run_job(cloud, script_job(cloud, name, files))
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: the job environment differs from ")
    assert job["FailureReason"].endswith(
        f": PyYAML==0.0.1 is locked, {INSTALLED_YAML} is installed; run make setup"
    )
    assert "ModelArtifacts" not in job


def test_a_wheel_in_the_channel_never_reaches_the_venv(cloud: Cloud) -> None:
    name = unique("toolkit-wheel")
    wheels = cloud.put(f"wheels/{name}/{PROBE_WHEEL}", probe_wheel())
    files = {
        "train.py": REPORT_PY,
        "requirements.txt": REQUIREMENTS,
        "requirements.lock": "localcloud-probe==1.0\n",
    }
    request = script_job(cloud, name, files, channels=[channel("wheels", wheels)])
    job = run_job(cloud, request)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].endswith(
        ": localcloud-probe==1.0 is locked, it is not installed; run make setup"
    )
    assert "Would install localcloud-probe-1.0" in log_of(cloud, name)
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("localcloud-probe")


def test_an_entry_point_missing_from_the_submit_directory_says_so(cloud: Cloud) -> None:
    name = unique("toolkit-missing")
    job = run_job(cloud, script_job(cloud, name, {"other.py": "print(1)"}))
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "AlgorithmError: ExecuteUserScriptError: the entry point 'train.py' is not in the code "
        "folder: sagemaker_submit_directory does not hold it"
    )
