"""Command-line interface: the same commands for the local cloud and a real AWS account.

    python -m cli demo                             # the main job on the local cloud (make demo)
    python -m cli synth                            # synthesize and check every environment
    python -m cli deploy                           # deploy `local` to a running local cloud
    python -m cli start --input run.json --follow  # start an execution and watch it
    python -m cli follow NAME_OR_ARN
    python -m cli runs                             # the newest executions
    python -m cli report RUN_NAME --out DIR        # download report.json/html, predictions

Add ``--target aws --env dev --profile PROFILE`` to act on a deployed AWS account instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.runs import Timeline

ENVIRONMENTS = ("local", "dev", "staging", "prod")


def synth_all() -> int:
    """Synthesizes every environment with the cdk-nag checks; returns the number that failed."""
    from app import build_app

    failed = 0
    for env_name in ENVIRONMENTS:
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as outdir:
            try:
                assembly = build_app(env_name, outdir=outdir).synth()
            except Exception as error:  # the message is cdk-nag's or the config loader's
                print(f"  {env_name:8} FAILED: {error}")
                failed += 1
                continue
            stacks = sorted(s.stack_name for s in assembly.stacks_recursively)
        print(f"  {env_name:8} ok in {time.monotonic() - started:4.1f}s: {', '.join(stacks)}")
    return failed


def _target(args: argparse.Namespace):
    from cli.target import aws_target, local_target

    if args.target == "local":
        return local_target(args.env)
    return aws_target(args.env, args.profile, args.region)


def _read_input(value: str) -> dict:
    text = Path(value).read_text() if Path(value).is_file() else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = value if Path(value).is_file() else "--input"
        raise SystemExit(
            f"{where}: not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def _outcome(timeline: Timeline) -> int:
    """Prints how a followed execution ended as one JSON line; 0 only if it succeeded."""
    print(
        json.dumps(
            {
                "status": timeline.status,
                "error": timeline.error,
                "cause": timeline.cause,
                "durations_s": timeline.durations(),
            }
        )
    )
    return 0 if timeline.status == "SUCCEEDED" else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("local", "aws"), default="local")
    parser.add_argument("--env", default="local", choices=ENVIRONMENTS)
    parser.add_argument("--profile", help="AWS profile (with --target aws)")
    parser.add_argument("--region", help="AWS region (with --target aws)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("synth", help="synthesize and check every environment")
    demo = commands.add_parser("demo", help="run the main job on the local cloud")
    demo.add_argument("--model", choices=("smollm2", "tiny"), default="smollm2")
    demo.add_argument("--max-steps", type=int, help="override the recipe's training steps")
    demo.add_argument("--samples", type=int, default=100, help="held-out samples to evaluate")
    demo.add_argument("--keep-running", action="store_true", help="leave the local cloud up")
    commands.add_parser("deploy", help="deploy the local environment to a running local cloud")
    start = commands.add_parser("start", help="start an execution")
    start.add_argument("--input", required=True, help="execution input: a JSON file or string")
    start.add_argument("--name", help="execution name (also the run name)")
    start.add_argument("--follow", action="store_true")
    follow = commands.add_parser("follow", help="watch an execution until it ends")
    follow.add_argument("execution", help="execution name or ARN")
    commands.add_parser("runs", help="list the newest executions")
    report = commands.add_parser("report", help="download a run's evaluation report")
    report.add_argument("run")
    report.add_argument("--out", type=Path, default=Path("build/runs"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "synth":
        print("Synthesizing every environment with the cdk-nag AwsSolutions checks:")
        failed = synth_all()
        print(
            "all environments synthesized with no unacknowledged cdk-nag finding"
            if not failed
            else f"{failed} environment(s) failed"
        )
        return 1 if failed else 0
    if args.command == "demo":
        from cli.demo import run_demo

        return run_demo(
            model=args.model,
            max_steps=args.max_steps,
            samples=args.samples,
            keep_running=args.keep_running,
        )
    if args.command == "deploy":
        from localcloud import deploy
        from localcloud.server import find

        cloud = find()
        if cloud is None:
            raise SystemExit("no local cloud is running: `python -m localcloud start` first")
        deploy.bootstrap(cloud)
        print(
            json.dumps(
                deploy.deploy(cloud, Path(__file__).resolve().parent.parent, {"env": "local"}),
                indent=2,
            )
        )
        return 0
    from cli import runs

    target = _target(args)
    if args.command == "start":
        arn = runs.start(target, _read_input(args.input), args.name)
        print(arn)
        if args.follow:
            return _outcome(runs.follow(target, arn))
        return 0
    if args.command == "follow":
        return _outcome(runs.follow(target, runs.resolve(target, args.execution)))
    if args.command == "runs":
        for execution in runs.list_runs(target):
            print(f"{execution['name']:<40} {execution['status']:<10} {execution['startDate']}")
        return 0
    if args.command == "report":
        report = runs.fetch_report(target, args.run, args.out / args.run)
        print(json.dumps(report.get("gate", report), indent=2))
        print(f"files in {args.out / args.run}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
