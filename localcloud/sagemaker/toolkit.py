"""The sagemaker-training toolkit's steps, run as the job's own process, inside its namespaces.

A framework container starts the sagemaker-training toolkit (5.1.4:
``sagemaker_training/trainer.py`` ``train()`` -> ``entry_point.run``), which, before the program:

1. fetches ``sagemaker_submit_directory`` into ``/opt/ml/code`` (``files.download_and_extract``):
   an ``s3://`` URI is downloaded from inside the container, a local folder is copied, a local
   tarball (``/opt/ml/input/data/code/<file>.tar.gz``: the ``code`` channel, the SDK's way for
   network-isolated jobs) is extracted; a code folder that is not empty is left as it is;
2. installs it (``entry_point.install``): a Python program beside a ``requirements.txt`` gets
   ``<python> -m pip install -r requirements.txt`` run in the code folder
   (``modules.install_requirements``), a ``.sh`` program is made executable;
3. runs the program (``runner``); a failure is written to ``/opt/ml/output/failure``, whose text
   SageMaker reports as the FailureReason (``trainer.train``, ``files.write_failure_file``).

The local cloud runs this module as the job's process (``python -m localcloud.sagemaker.toolkit
<bootstrap.json>``) so these steps happen where they happen on AWS: inside the job, within its
network isolation. It then replaces itself with the job's command (exec), keeping the process id
the local cloud watches. Only the standard library and this package's light modules load here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NoReturn

from localcloud.sagemaker import isolation
from localcloud.sagemaker.opt_ml import rewrite

REQUIREMENTS = "requirements.txt"
# Options of a requirements file that name another file, read relative to the code folder.
_INCLUDES = ("-r", "--requirement", "-c", "--constraint")


@dataclass(frozen=True)
class Bootstrap:
    """What one host's process does before it becomes the job's command.

    Attributes:
        argv: the job's command, run last (exec).
        cwd: its working folder.
        sandbox: the host's ``/opt/ml``.
        program: ``sagemaker_program``; None runs no toolkit step (a ``ContainerEntrypoint``
            or a processing job replaces the toolkit).
        submit_directory: ``sagemaker_submit_directory``, its ``/opt/ml`` paths rewritten.
        loopback, hosts_file, hostname, outer: see :func:`isolation.enter`.
    """

    argv: list[str]
    cwd: str
    sandbox: str
    program: str | None = None
    submit_directory: str | None = None
    loopback: bool = False
    hosts_file: str | None = None
    hostname: str | None = None
    outer: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> Bootstrap:
        return cls(**json.loads(path.read_text()))


class ToolkitClientError(Exception):
    """The toolkit's ``errors.ClientError``: its message is the failure file's whole text."""


def download_and_extract(uri: str, path: Path) -> None:
    """``files.download_and_extract``: puts the submit directory's files into ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        print(f"Provided path: {path} is not empty, abandoning unzipping sourcedir.tar.gz")
        return
    with tempfile.TemporaryDirectory() as scratch:
        if uri.startswith("s3://"):
            archive = Path(scratch) / "tar_file"
            _s3_download(uri, archive)
            _extract(archive, path)
        elif os.path.isdir(uri):
            if Path(uri).resolve() != path.resolve():
                shutil.copytree(uri, path, dirs_exist_ok=True)
        elif tarfile.is_tarfile(uri):
            _extract(Path(uri), path)
        else:
            shutil.copy2(uri, path)


def install(program: str, code_dir: Path, sandbox: Path) -> None:
    """``entry_point.install`` for a script: its requirements, or exec permission for a command.

    Raises:
        ToolkitClientError: the program is missing or a Python package, or pip failed.
    """
    if not (code_dir / program).is_file():
        # The toolkit would start it and fail with the interpreter's "can't open file".
        raise ToolkitClientError(
            f"ExecuteUserScriptError: the entry point {program!r} is not in the code folder: "
            "sagemaker_submit_directory does not hold it"
        )
    if program.endswith(".sh"):
        (code_dir / program).chmod(0o777)
    elif (code_dir / "setup.py").is_file():
        # The toolkit would pip install the package itself into the image's Python; locally
        # that Python is the project's venv, which a job must never change.
        raise ToolkitClientError(
            "InstallModuleError: the code folder holds setup.py: the local cloud cannot pip "
            "install a package into the project's venv; run a script (sagemaker_program) instead"
        )
    elif program.endswith(".py") and (code_dir / REQUIREMENTS).is_file():
        _rewrite_requirement_files(code_dir / REQUIREMENTS, code_dir, sandbox, set())
        install_requirements(code_dir)


def install_requirements(code_dir: Path) -> None:
    """``modules.install_requirements``: ``<python> -m pip install -r requirements.txt``.

    The job's environment carries ``PIP_DRY_RUN=1`` (``Settings.job_env``), so this pip run
    cannot change the project's venv whatever the channel holds: it resolves, says "Requirement
    already satisfied" for every locked version the venv has, and otherwise fails ("No matching
    distribution found": the ``wheels`` channel is empty locally) or answers "Would install",
    which is a failure here too. The local cloud turns either into one line naming the package.
    The toolkit runs pip before the SM_* variables exist, so they are left out of its env.

    Raises:
        ToolkitClientError: pip failed or would have changed the venv.
    """
    command = [sys.executable, "-m", "pip", "install", "-r", REQUIREMENTS]
    print("Installing dependencies from requirements.txt", flush=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("SM_")}
    pip = subprocess.Popen(
        command, cwd=code_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    would_install = False
    for line in pip.stdout:
        print(line, end="", flush=True)
        would_install = would_install or line.startswith("Would install ")
    code = pip.wait()
    if code != 0 or would_install:
        # The toolkit's InstallRequirementsError text (errors._CalledProcessError.__str__).
        raise ToolkitClientError(
            f'InstallRequirementsError:\nExitCode {code or 1}\nErrorMessage ""\n'
            f'Command "{" ".join(command)}"'
        )


def main(argv: list[str] | None = None) -> NoReturn:
    bootstrap = Bootstrap.load(Path((argv or sys.argv[1:])[0]))
    isolation.enter(
        outer=bootstrap.outer,
        loopback=bootstrap.loopback,
        hosts_file=bootstrap.hosts_file,
        hostname=bootstrap.hostname,
    )
    if bootstrap.program:
        code_dir, sandbox = Path(bootstrap.sandbox) / "code", Path(bootstrap.sandbox)
        try:
            download_and_extract(bootstrap.submit_directory or str(code_dir), code_dir)
            install(bootstrap.program, code_dir, sandbox)
        except ToolkitClientError as error:
            _fail(sandbox, str(error))
        except Exception as error:  # trainer.train reports anything else as a Framework Error
            traceback.print_exc()
            _fail(sandbox, f"Framework Error: \n{type(error).__name__}: {error}")
        print(f"Invoking script with the following command:\n\n{' '.join(bootstrap.argv)}\n")
    sys.stdout.flush()
    os.chdir(bootstrap.cwd)
    os.execvp(bootstrap.argv[0], bootstrap.argv)


def _fail(sandbox: Path, message: str) -> NoReturn:
    failure = sandbox / "output" / "failure"
    failure.parent.mkdir(parents=True, exist_ok=True)
    if not failure.exists():
        failure.write_text(message)
    print(f"Reporting training FAILURE\n{message}", file=sys.stderr, flush=True)
    sys.exit(1)


def _s3_download(uri: str, target: Path) -> None:
    # files.s3_download: boto3 from inside the container, region from AWS_REGION.
    import boto3

    bucket, _, key = uri[len("s3://") :].partition("/")
    client = boto3.client(
        "s3",
        region_name=os.environ.get("AWS_REGION"),
        endpoint_url=os.environ.get("S3_ENDPOINT_URL"),
    )
    client.download_file(bucket, key, str(target))


def _extract(archive: Path, path: Path) -> None:
    # files._safe_extractall: no member may land outside the code folder.
    with tarfile.open(archive, mode="r:gz") as tar:
        tar.extractall(path, filter="data")


def _rewrite_requirement_files(path: Path, code_dir: Path, sandbox: Path, seen: set) -> None:
    """Moves ``/opt/ml`` paths in a requirements file (and those it includes) into the sandbox."""
    if path in seen or not path.is_file():
        return
    seen.add(path)
    text = path.read_text()
    rewritten = rewrite(text, sandbox)
    if rewritten != text:
        path.write_text(rewritten)
    for line in rewritten.splitlines():
        words = line.split("#", 1)[0].replace("=", " ", 1).split()
        if len(words) >= 2 and words[0] in _INCLUDES:
            included = (path.parent / words[1]).resolve()
            if included.is_relative_to(code_dir.resolve()):
                _rewrite_requirement_files(included, code_dir, sandbox, seen)


if __name__ == "__main__":
    main()
