"""Command line for the local cloud.

    python -m localcloud start [--port 4566] [--foreground]   # prints the endpoint
    eval "$(python -m localcloud env)"                         # point AWS SDKs/CLIs at it
    python -m localcloud deploy . -c env=local                 # bootstrap + cdk deploy --all
    python -m localcloud status
    python -m localcloud stop

State (pid and port, ``server.log``, job files) lives in ``--state-dir``, by default
``$LOCALCLOUD_STATE_DIR`` or ``./.localcloud``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from localcloud.server import LocalCloud, default_state_dir, find, start


def _running(state_dir: Path) -> LocalCloud:
    cloud = find(state_dir)
    if cloud is None:
        sys.exit(
            f"no local cloud runs from {state_dir}: start it with `python -m localcloud start`"
        )
    return cloud


def _start(args: argparse.Namespace) -> int:
    try:
        cloud = start(args.port, args.state_dir, detach=not args.foreground)
    except RuntimeError as exc:
        sys.exit(str(exc))
    print(f"local cloud at {cloud.endpoint_url} (pid {cloud.pid}); log: {cloud.log_file}")
    if not args.foreground:
        return 0
    print("press Ctrl-C to stop", flush=True)
    try:
        while cloud.running():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()
    return 0


def _stop(args: argparse.Namespace) -> int:
    cloud = find(args.state_dir)
    if cloud is None:
        print(f"no local cloud runs from {args.state_dir}")
        return 0
    cloud.stop()
    print(f"stopped the local cloud at {cloud.endpoint_url} (pid {cloud.pid})")
    return 0


def _status(args: argparse.Namespace) -> int:
    cloud = find(args.state_dir)
    answering = cloud is not None and cloud.running()
    status = {"running": answering, "state_dir": str(args.state_dir)}
    if cloud is not None:
        status.update(endpoint_url=cloud.endpoint_url, pid=cloud.pid, log=str(cloud.log_file))
    print(json.dumps(status, indent=2))
    return 0 if answering else 1


def _env(args: argparse.Namespace) -> int:
    for key, value in _running(args.state_dir).env().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from localcloud.deploy import DeployError, bootstrap, deploy

    if not (args.app_dir / "cdk.json").is_file():
        sys.exit(f"{args.app_dir}: no cdk.json here; give the folder of the CDK app to deploy")
    cloud = _running(args.state_dir)
    bad = [item for item in args.context if "=" not in item]
    if bad:
        sys.exit(f"context must be KEY=VALUE, got: {bad}")
    context = dict(item.split("=", 1) for item in args.context)
    try:
        bootstrap(cloud)
        outputs = deploy(cloud, args.app_dir, context, args.stacks or None)
    except DeployError as exc:
        sys.exit(str(exc))
    print(json.dumps(outputs, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=default_state_dir())
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, run: object) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, parents=[common])
        sub.set_defaults(run=run)
        return sub

    begin = command("start", "start a server (in the background)", _start)
    begin.add_argument("--port", type=int, help="default: a free port")
    begin.add_argument("--foreground", action="store_true", help="run until Ctrl-C")
    command("stop", "stop the server and every job it runs", _stop)
    command("status", "print the server's state as JSON (exit 1: not running)", _status)
    command("env", "print `export` lines that point AWS clients at the server", _env)
    ship = command("deploy", "bootstrap, then deploy a CDK app", _deploy)
    ship.add_argument("app_dir", type=Path, nargs="?", default=Path("."))
    ship.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    ship.add_argument("--stacks", nargs="*", default=[], help="default: all stacks")
    args = parser.parse_args(argv)
    args.state_dir = args.state_dir.resolve()
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
