"""checkov's CloudFormation checks over every environment's templates and the pipeline's.

checkov is the second infrastructure scanner, beside cdk-nag. It has its own virtual
environment (``requirements-checkov.txt``, made by ``make setup``) and runs once per session,
as a command, over the templates of dev, staging and prod and of the pipeline app (with models
pinned, so that the serving stacks hold their endpoints). Any failed check fails its target's
test. A suppression names one check on one resource with its reason (``stacks/nag.py``,
``skip_checkov``).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs

from tests.pipeline.synth import PINS, synth

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
ENVIRONMENTS = ("dev", "staging", "prod")
TARGETS = (*ENVIRONMENTS, "pipeline")
# A stack with a plain log group: checkov must report it (CKV_AWS_158), or it is not running.
CONTROL = "control"


@dataclass
class Findings:
    """checkov's results for one target: failed and skipped checks, and the files it read."""

    failed: list[dict]
    skipped: list[dict]
    files: set[str]


@pytest.fixture(scope="session")
def checkov(synth_env, tmp_path_factory) -> dict[str, Findings]:
    """checkov's findings by target, from one run over every template."""
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make setup`")
    folder = tmp_path_factory.mktemp("checkov")
    for env_name in ENVIRONMENTS:
        for stack, template in synth_env(env_name).templates.items():
            _write(folder / f"{env_name}--{stack}.json", template)
    for (stage, stack), template in synth(tmp_path_factory, "pipeline", PINS).templates.items():
        _write(folder / f"pipeline--{stage or 'Tooling'}-{stack}.json", template)
    _write(folder / f"{CONTROL}--Careless.json", _control_template())
    result = subprocess.run(
        [
            str(CHECKOV),
            *("--directory", str(folder), "--framework", "cloudformation"),
            *("--output", "json", "--compact", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # checkov exits 1 when a check failed; anything else means it did not run.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, report["results"]["parsing_errors"]
    findings = {target: Findings([], [], set()) for target in (*TARGETS, CONTROL)}
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        for check in report["results"][kind]:
            target = Path(check["file_path"]).name.split("--")[0]
            findings[target].files.add(Path(check["file_path"]).name)
            if kind != "passed_checks":
                getattr(findings[target], kind.removesuffix("_checks")).append(check)
    return findings


def _write(path: Path, template: dict) -> None:
    path.write_text(json.dumps(template))


def _control_template() -> dict:
    app = App()
    stack = Stack(app, "Careless")
    logs.LogGroup(stack, "Logs")
    return app.synth().get_stack_by_name("Careless").template


@pytest.mark.parametrize("target", TARGETS)
def test_no_unsuppressed_finding(checkov, target):
    failed = [
        f"{check['check_id']} {check['resource']} ({Path(check['file_path']).name}): "
        f"{check['check_name']}"
        for check in checkov[target].failed
    ]
    assert failed == []


@pytest.mark.parametrize("target", TARGETS)
def test_every_template_is_scanned(checkov, target):
    stacks = {"Storage", "Workflow", "Serving"}
    expected = (
        {
            f"pipeline--{stage}-{stack}.json"
            for stage in ("Dev", "Staging", "Prod")
            for stack in stacks
        }
        | {"pipeline--Tooling-Pipeline.json"}
        if target == "pipeline"
        else {f"{target}--{stack}.json" for stack in stacks}
    )
    assert checkov[target].files == expected


def test_every_suppression_has_its_reason(checkov):
    for target in TARGETS:
        for check in checkov[target].skipped:
            reason = check["check_result"]["suppress_comment"]
            assert len(reason) >= 20, (check["check_id"], check["resource"], reason)


def test_checkov_reports_a_log_group_without_a_key(checkov):
    assert {check["check_id"] for check in checkov[CONTROL].failed} >= {"CKV_AWS_158"}
