"""What the SageMaker emulation needs to know about this machine; install() sets it once."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from moto.settings import moto_server_port

from localcloud.iam.credentials import ADMIN, Keys

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_SERVER = REPO_ROOT / "inference_code" / "local_server.py"
# The pinned job libraries the project's jobs install (training_code/requirements.txt reads it).
JOB_LOCK = REPO_ROOT / "training_code" / "requirements.lock"

# The local cloud's own keys (an account administrator's, never evaluated): what its clients
# present when they act for no role.
ACCESS_KEY = ADMIN.access_key_id
SECRET_KEY = ADMIN.secret_access_key


@dataclass(frozen=True)
class Settings:
    """Where state goes and how long endpoints may take to come up.

    Attributes:
        state_dir: job sandboxes, endpoint model copies and log files live under it.
        endpoint_server: the script an endpoint runs (``--model-dir``, ``--port``, ``--host``).
        endpoint_startup_timeout_s: an endpoint whose ``/ping`` is not 200 by then fails.
        invoke_timeout_s: how long InvokeEndpoint waits for the local server's answer.
        checkpoint_sync_s: how often a running job's checkpoint folder is copied to S3.
    """

    state_dir: Path
    endpoint_server: Path = LOCAL_SERVER
    endpoint_startup_timeout_s: float = 900.0
    invoke_timeout_s: float = 600.0
    checkpoint_sync_s: float = 10.0

    @property
    def endpoint_url(self) -> str:
        """The local cloud's own address (moto's server port, as its Step Functions uses it)."""
        return f"http://localhost:{moto_server_port()}"

    @property
    def python(self) -> str:
        """The interpreter jobs run with: the one serving the local cloud (the project venv)."""
        return sys.executable

    def client(self, service: str, region: str, keys: Keys = ADMIN) -> BaseClient:
        """A boto3 client for the local cloud; a fresh session, so it is safe in any thread.

        ``keys``: a role session's (``localcloud.iam.credentials.for_role``) when the client
        acts for that role, as SageMaker acts with a job's execution role.
        """
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region,
            **keys.client_kwargs(),
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )

    def process_env(
        self, region: str, extra: dict[str, str] | None = None, keys: Keys = ADMIN
    ) -> dict[str, str]:
        """The environment of a job or endpoint process: this one's, pointed at the local cloud.

        The venv's ``bin`` goes first on ``PATH`` so ``python3`` inside a ``bash -c`` script is
        the project's interpreter, and the Hugging Face libraries are kept offline. The process
        presents ``keys``: its role's session, as a SageMaker container has its execution
        role's credentials.
        """
        env = dict(os.environ)
        venv_bin = str(Path(self.python).parent)
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": region,
                "AWS_REGION": region,
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("AWS_PROFILE", None)
        env.pop("AWS_SESSION_TOKEN", None)
        env.update(keys.env())
        env.update(extra or {})
        return env

    def job_env(
        self,
        region: str,
        extra: dict[str, str] | None = None,
        pip_report: Path | None = None,
        keys: Keys = ADMIN,
    ) -> dict[str, str]:
        """The environment of a training or processing job: :meth:`process_env`, and pip tamed.

        A job's Python is the project's venv, shared by every job: pip inside a job must not
        change it. ``PIP_DRY_RUN=1`` makes every ``pip install`` a dry run (pip reads any option
        from ``PIP_<OPTION>``), and ``PIP_REPORT`` makes it write what it would have installed
        to ``pip_report`` (even with ``--quiet``), which the local cloud reads. The developer's
        pip settings are not the container's: inherited ``PIP_*`` variables are dropped and
        ``PIP_CONFIG_FILE=os.devnull`` keeps pip from reading any configuration file (pip's
        ``Configuration._load_config_files``), so a ``find-links`` of this machine cannot
        satisfy what the job's channel does not hold. The request's ``Environment`` (``extra``)
        may set other ``PIP_*`` options.
        """
        inherited = self.process_env(region, keys=keys).items()
        env = {name: value for name, value in inherited if not name.startswith("PIP_")}
        env.update(extra or {})
        env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DRY_RUN": "1"})
        if pip_report is not None:
            env["PIP_REPORT"] = str(pip_report)
        return env


_current: Settings | None = None


def configure(settings: Settings) -> None:
    """Makes ``settings`` the ones every job and endpoint started from now on uses."""
    global _current
    _current = settings


def current() -> Settings:
    """The settings install() set.

    Raises:
        RuntimeError: if install() has not been called in this process.
    """
    if _current is None:
        raise RuntimeError("localcloud.sagemaker.install(state_dir) has not been called")
    return _current
