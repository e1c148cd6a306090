"""Command-line interface.

    python -m cli demo      # the main job (see README)
    python -m cli synth     # synthesize and check every environment
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("synth", help="synthesize and check every environment")
    commands.add_parser("demo", help="run the main job")
    args = parser.parse_args(argv)
    if args.command in ("synth", "demo"):
        print("Synthesizing every environment with the cdk-nag AwsSolutions checks:")
        failed = synth_all()
        print("all environments synthesized with no unacknowledged cdk-nag finding"
              if not failed else f"{failed} environment(s) failed")
        return 1 if failed else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
