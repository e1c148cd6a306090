"""Command-line interface: the same commands for the local cloud and a real AWS account.

    python -m cli demo                             # the main job on the local cloud (make demo)
    python -m cli demo --compare-with champion     # two runs: the second against the first
    python -m cli synth                            # synthesize and check every environment
    python -m cli deploy                           # deploy `local` to a running local cloud
    python -m cli start --input run.json --follow  # the cost estimate, then start and watch
    python -m cli follow NAME_OR_ARN
    python -m cli runs                             # the newest executions and their cost
    python -m cli report NAME --out DIR            # report.json/html, predictions, cost of a run
    python -m cli preflight                        # what a first deploy and run need (--json)

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
    from cli.target import Target

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


def _target(args: argparse.Namespace) -> Target:
    from cli.target import aws_target, local_target

    if args.target == "local":
        return local_target(args.env)
    return aws_target(args.env, args.profile, args.region)


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


def _whole_number(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    from cli.demo import DEMO_STEPS

    parser = argparse.ArgumentParser(
        prog="python -m cli",
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 done; 1 an error (one line on stderr) or a failed execution; "
        "2 a wrong command line.",
    )
    parser.add_argument("--target", choices=("local", "aws"), default="local")
    parser.add_argument("--env", default="local", choices=ENVIRONMENTS)
    parser.add_argument("--profile", help="AWS profile (with --target aws)")
    parser.add_argument("--region", help="AWS region (with --target aws)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("synth", help="synthesize and check every environment")
    demo = commands.add_parser("demo", help="run the main job on the local cloud")
    demo.add_argument("--model", choices=("smollm2", "tiny"), default="smollm2")
    demo.add_argument(
        "--max-steps",
        type=_whole_number,
        help=f"training steps, >= 1 (default: the demo's {DEMO_STEPS}, not the recipe's)",
    )
    demo.add_argument(
        "--samples",
        type=_whole_number,
        default=100,
        help="held-out samples to evaluate, >= 1 (default: %(default)s)",
    )
    demo.add_argument(
        "--compare-with",
        choices=("base", "champion"),
        default="base",
        help="base: one execution, against the base model; champion: a second execution, "
        "against the first one's registered model (default: %(default)s)",
    )
    demo.add_argument("--keep-running", action="store_true", help="leave the local cloud up")
    commands.add_parser("deploy", help="deploy the local environment to a running local cloud")
    start = commands.add_parser("start", help="start an execution")
    start.add_argument(
        "--input",
        required=True,
        help="execution input: inline JSON (starting with '{') or the path of a JSON file",
    )
    start.add_argument(
        "--name",
        help="execution name: 1 to 80 letters, digits, '-' or '_' (default: a generated id). "
        "The run name, which names the run's S3 folder runs/<run_name>/ and its SageMaker jobs, "
        "is the input's run_name or else this name, with characters outside [A-Za-z0-9-] made "
        "'-' (my_run_1 gives my-run-1)",
    )
    start.add_argument("--follow", action="store_true")
    follow = commands.add_parser("follow", help="watch an execution until it ends")
    follow.add_argument("execution", help="execution name or ARN")
    commands.add_parser("runs", help="list the newest executions")
    report = commands.add_parser("report", help="download a run's evaluation report")
    report.add_argument("run", help="execution name or ARN, or run name")
    report.add_argument("--out", type=Path, default=Path("build/runs"))
    preflight = commands.add_parser(
        "preflight", help="check an account before the first deploy and run (exit 1: a problem)"
    )
    preflight.add_argument("--input", help="also check the S3 locations of this execution input")
    preflight.add_argument("--json", action="store_true", help="print the findings as JSON")
    # Also after the command (`preflight --target aws --env dev`); given here, they win.
    preflight.add_argument("--target", choices=("local", "aws"), default=argparse.SUPPRESS)
    preflight.add_argument("--env", choices=ENVIRONMENTS, default=argparse.SUPPRESS)
    preflight.add_argument("--profile", default=argparse.SUPPRESS)
    preflight.add_argument("--region", default=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; an error a user can meet ends it with one line on stderr and exit 1."""
    from cli.errors import explain

    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except Exception as error:
        message = explain(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    commands = {
        "synth": _synth,
        "demo": _demo,
        "deploy": _deploy,
        "start": _start,
        "follow": _follow,
        "runs": _runs,
        "report": _report,
        "preflight": _preflight,
    }
    return commands[args.command](args)


def _synth(_args: argparse.Namespace) -> int:
    print("Synthesizing every environment with the cdk-nag AwsSolutions checks:")
    failed = synth_all()
    print(
        "all environments synthesized with no unacknowledged cdk-nag finding"
        if not failed
        else f"{failed} environment(s) failed"
    )
    return 1 if failed else 0


def _demo(args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    return run_demo(
        model=args.model,
        max_steps=args.max_steps,
        samples=args.samples,
        keep_running=args.keep_running,
        compare_with=args.compare_with,
    )


def _deploy(_args: argparse.Namespace) -> int:
    from cli.target import TargetError
    from localcloud import deploy
    from localcloud.server import find

    cloud = find()
    if cloud is None:
        raise TargetError("no local cloud is running: `python -m localcloud start` first")
    deploy.bootstrap(cloud)
    outputs = deploy.deploy(cloud, Path(__file__).resolve().parent.parent, {"env": "local"})
    print(json.dumps(outputs, indent=2))
    return 0


def _start(args: argparse.Namespace) -> int:
    from cli import runs
    from cli.costs import estimate_for, format_cost
    from cli.input_arg import read_input

    execution_input = read_input(args.input)  # a mistake in it needs no cloud to be reported
    target = _target(args)
    # Before anything launches; the ARN stays the line after it.
    print(format_cost(estimate_for(target, execution_input)))
    arn = runs.start(target, execution_input, args.name)
    print(arn)
    return _outcome(runs.follow(target, arn)) if args.follow else 0


def _follow(args: argparse.Namespace) -> int:
    from cli import runs

    target = _target(args)
    return _outcome(runs.follow(target, runs.resolve(target, args.execution)))


def _runs(args: argparse.Namespace) -> int:
    from cli import runs
    from cli.costs import run_cost

    target = _target(args)
    for execution in runs.list_runs(target):
        cost = run_cost(target, runs.run_name_of(target, execution["executionArn"]))
        usd = f"USD {cost['total_usd']:.2f}" if cost else "-"
        print(
            f"{execution['name']:<40} {execution['status']:<10} {usd:>12}  {execution['startDate']}"
        )
    return 0


def _report(args: argparse.Namespace) -> int:
    from cli import runs
    from cli.costs import format_cost, run_cost
    from cli.report_table import report_text

    target = _target(args)
    run_name = runs.run_name_of(target, args.run)
    out_dir = args.out / run_name
    report = runs.fetch_report(target, run_name, out_dir)
    print(report_text(report))
    print(json.dumps(report.get("gate", report), indent=2))
    cost = report.get("cost") or run_cost(target, run_name)
    print(format_cost(cost) if cost else "Cost: not computed (yet) for this run")
    print(f"files in {out_dir}")
    return 0


def _preflight(args: argparse.Namespace) -> int:
    from cli.preflight import preflight

    return preflight(
        args.target,
        args.env,
        profile=args.profile,
        region=args.region,
        input_arg=args.input,
        as_json=args.json,
    )


if __name__ == "__main__":
    sys.exit(main())
