"""The job libraries' wheels: downloaded by local bundling, published file by file, never in tests.

pip is replaced by a stand-in here (``subprocess.run`` of ``wheel_bundling``), so no test
downloads; a synth from Python skips the bundling altogether.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack, Stage

from app import build_app
from stacks.workflow import wheel_bundling
from stacks.workflow.job_image import JOB_IMAGE
from stacks.workflow.job_wheels import JobWheels
from stacks.workflow.wheel_bundling import download_commands, pip_platforms

LOCK_TEXT = "# resolved for the image\naccelerate==1.15.0\nrouge-score==0.1.2\n"
FAKE_WHEELS = ("accelerate-1.15.0-py3-none-any.whl", "rouge_score-0.1.2-py3-none-any.whl")


def _lock(tmp_path: Path, text: str = LOCK_TEXT) -> Path:
    lock = tmp_path / "requirements.lock"
    lock.write_text(text)
    return lock


def _synth(tmp_path: Path, lock: Path, image, *, bundle: bool) -> tuple[str, dict[str, dict]]:
    """The wheels' S3 URI and the stack's file assets (object key -> source) of one synth."""
    context = {} if bundle else {"aws:cdk:bundling-stacks": []}
    app = App(outdir=str(tmp_path / f"out-{bundle}"), context=context)
    stage = Stage(app, "Dev", env=Environment(account="123456789012", region="us-east-1"))
    stack = Stack(stage, "Jobs")
    wheels = JobWheels(stack, "JobWheels", lock=lock, image=image)
    uri = stack.resolve(wheels.s3_uri)
    assembly = Path(app.synth().directory) / "assembly-Dev"
    manifest = json.loads(next(assembly.glob("*.assets.json")).read_text())
    assets = {
        next(iter(entry["destinations"].values()))["objectKey"]: {
            **entry["source"],
            "path": str(assembly / entry["source"]["path"]),
        }
        for entry in manifest["files"].values()
        if not entry["source"]["path"].endswith(".template.json")
    }
    return uri, assets


@pytest.fixture
def fake_pip(monkeypatch):
    """pip replaced: each ``download``/``wheel`` writes its wheels to its destination."""
    calls: list[list[str]] = []

    def run(command, **_kwargs):
        calls.append(command)
        destination = Path(command[command.index("--dest" if "download" in command else "-w") + 1])
        for name in FAKE_WHEELS:
            if name.split("-")[0].replace("_", "-") in " ".join(command):
                (destination / name).write_text(name)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(wheel_bundling.subprocess, "run", run)
    return calls


def test_every_wheel_and_the_lock_are_objects_under_one_prefix(tmp_path, fake_pip):
    """SageMaker copies an S3 prefix object by object; pip needs the wheels as files."""
    lock = _lock(tmp_path)
    uri, assets = _synth(tmp_path, lock, JOB_IMAGE, bundle=True)
    prefix = uri.removeprefix("s3://cdk-hnb659fds-assets-123456789012-us-east-1/")
    assert sorted(assets) == sorted(prefix + name for name in (*FAKE_WHEELS, "requirements.lock"))
    assert all(source["packaging"] == "file" for source in assets.values())
    assert Path(assets[f"{prefix}requirements.lock"]["path"]).read_text() == LOCK_TEXT
    assert len(fake_pip) == 2


def test_skipping_the_bundling_downloads_nothing_and_keeps_the_prefix(tmp_path, fake_pip):
    lock = _lock(tmp_path)
    skipped, assets = _synth(tmp_path, lock, JOB_IMAGE, bundle=False)
    assert fake_pip == []
    assert [key.rsplit("/", 1)[1] for key in assets] == ["requirements.lock"]
    bundled, _ = _synth(tmp_path, lock, JOB_IMAGE, bundle=True)
    assert bundled == skipped


def test_the_prefix_follows_the_lock_and_the_target(tmp_path, fake_pip):
    first, _ = _synth(tmp_path, _lock(tmp_path), JOB_IMAGE, bundle=False)
    (tmp_path / "other").mkdir()
    moved = _lock(tmp_path / "other", LOCK_TEXT.replace("1.15.0", "1.16.0"))
    assert _synth(tmp_path / "other", moved, JOB_IMAGE, bundle=False)[0] != first
    assert _synth(tmp_path, _lock(tmp_path), None, bundle=False)[0] != first


def test_the_local_cloud_gets_the_lock_and_a_readme_without_a_download(tmp_path, fake_pip):
    _, assets = _synth(tmp_path, _lock(tmp_path), None, bundle=True)
    assert fake_pip == []
    names = {key.rsplit("/", 1)[1]: Path(source["path"]) for key, source in assets.items()}
    assert sorted(names) == ["README.txt", "requirements.lock"]
    assert names["requirements.lock"].read_text() == LOCK_TEXT
    assert "virtual environment" in names["README.txt"].read_text()


def test_a_failed_download_fails_the_synth_naming_the_lock(tmp_path, monkeypatch):
    def fail(command, **_):
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(wheel_bundling.subprocess, "run", fail)
    lock = _lock(tmp_path)
    with pytest.raises(RuntimeError, match=f"downloading the job wheels of {re.escape(str(lock))}"):
        _synth(tmp_path, lock, JOB_IMAGE, bundle=True)


def test_wheels_are_downloaded_for_the_image_and_only_source_only_ones_built():
    pins = ["accelerate==1.15.0", "rouge-score==0.1.2", "bitsandbytes==0.50.2"]
    download, build = download_commands(pins, JOB_IMAGE, "/out")
    assert download[:2] == ["pip", "download"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(download)
    assert "--python-version=3.12" in download and "--implementation=cp" in download
    assert download[-2:] == ["accelerate==1.15.0", "bitsandbytes==0.50.2"]
    assert build[:2] == ["pip", "wheel"]
    assert {"--no-deps", "--no-binary=rouge-score"} <= set(build)
    assert build[-3:] == ["-w", "/out", "rouge-score==0.1.2"]


def test_every_manylinux_the_image_s_glibc_runs_is_accepted():
    """pip takes only the platform tags it is given (bitsandbytes ships manylinux_2_24)."""
    platforms = pip_platforms(JOB_IMAGE)
    assert platforms[0] == "manylinux_2_35_x86_64"
    for older in ("manylinux_2_24_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"):
        assert older in platforms
    assert "manylinux_2_36_x86_64" not in platforms


def test_a_synth_from_python_never_downloads(tmp_path, monkeypatch):
    def refuse(command, **_):
        raise AssertionError(f"a test synth ran {command}")

    monkeypatch.setattr(wheel_bundling.subprocess, "run", refuse)
    build_app("prod", outdir=str(tmp_path))
