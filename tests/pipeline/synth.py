"""Synthesized apps with models pinned, shared by the pipeline and serving-stack tests.

Each app is synthesized once per test session (jsii start-up and synth cost seconds), from a
copy of ``config/environments.yaml`` with the pins set.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import assertions

from app import build_app
from stacks.config import DEFAULT_CONFIG_PATH

# A model trained in dev and registered there, promoted to staging and prod by pinning it.
PROMOTED_MODEL = "arn:aws:sagemaker:us-east-1:222222222222:model-package/llm-finetune-dev/3"
# Dev tries a run's model straight from its own artifacts bucket.
DEV_MODEL = "s3://llm-finetune-dev-models/runs/sql-7/model/"
PINS = {"dev": DEV_MODEL, "staging": PROMOTED_MODEL, "prod": PROMOTED_MODEL}
# The local cloud serving a model package of its own account.
LOCAL_MODEL = "arn:aws:sagemaker:us-east-1:123456789012:model-package/llm-finetune-local/1"


def with_pins(text: str, pins: dict[str, str | None]) -> str:
    """``environments.yaml`` text with ``serving_model`` set for the named environments."""
    lines, env, done = [], None, set()
    for line in text.splitlines():
        header = re.fullmatch(r"  (\w+):", line)
        if header:
            env = header.group(1)
        if line.startswith("    serving_model:") and env in pins:
            pin = pins[env]
            line = f"    serving_model: {pin if pin is not None else 'null'}"
            done.add(env)
        lines.append(line)
    assert done == set(pins), f"no serving_model line for {set(pins) - done}"
    return "\n".join(lines) + "\n"


def pinned_config(directory: Path, pins: dict[str, str | None]) -> Path:
    path = directory / "environments.yaml"
    path.write_text(with_pins(DEFAULT_CONFIG_PATH.read_text(), pins))
    return path


@dataclass
class Synth:
    """One synthesized app: its templates by (stage, stack) and its validation report."""

    outdir: Path
    templates: dict[tuple[str, str], dict]  # ("Staging", "Serving") -> template; ("", "Pipeline")

    def template(self, stage: str, stack: str) -> assertions.Template:
        return assertions.Template.from_json(self.templates[(stage, stack)])

    def resources(self, stage: str, stack: str, resource_type: str) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[(stage, stack)]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def validation_report(self) -> dict:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


_CACHE: dict[tuple, Synth] = {}


def synth(tmp_path_factory, target: str, pins: dict[str, str | None] | None = None) -> Synth:
    """``build_app(target)`` synthesized, from the shipped config or one with ``pins``."""
    key = (target, tuple(sorted((pins or {}).items())))
    if key not in _CACHE:
        workdir = tmp_path_factory.mktemp(f"cdk-{target}")
        config = pinned_config(workdir, pins) if pins else DEFAULT_CONFIG_PATH
        outdir = workdir / "out"
        build_app(target, outdir=str(outdir), config_path=config).synth()
        _CACHE[key] = Synth(outdir, _templates(outdir))
    return _CACHE[key]


def _templates(assembly: Path) -> dict[tuple[str, str], dict]:
    """Every stack template in a cloud assembly and its nested stage assemblies."""
    templates = {}
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            *stages, stack = artifact["displayName"].split("/")
            path = assembly / artifact["properties"]["templateFile"]
            templates[(stages[-1] if stages else "", stack)] = json.loads(path.read_text())
        elif artifact["type"] == "cdk:cloud-assembly":
            templates.update(_templates(assembly / artifact["properties"]["directoryName"]))
    return templates
