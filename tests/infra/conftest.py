"""One synth per environment per test session (each jsii start costs seconds)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import assertions

from app import build_app

ENVIRONMENTS = ("local", "dev", "staging", "prod")


@dataclass
class Synth:
    """One environment's synthesized cloud assembly."""

    env_name: str
    outdir: Path
    templates: dict[str, dict]  # stack name (e.g. "Storage") -> template JSON
    stacks: dict[str, object]  # stack name -> the Stack construct

    def template(self, stack: str) -> assertions.Template:
        return assertions.Template.from_json(self.templates[stack])

    def validation_report(self) -> dict:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


@pytest.fixture(scope="session")
def synth_env(tmp_path_factory):
    cache: dict[str, Synth] = {}

    def synth(env_name: str) -> Synth:
        if env_name not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{env_name}")
            app = build_app(env_name, outdir=str(outdir))
            assembly = app.synth()
            stage = app.node.find_child(env_name.capitalize())
            templates, stacks = {}, {}
            for stack in stage.node.children:
                if hasattr(stack, "template_file"):
                    path = (
                        Path(assembly.directory) / f"assembly-{stage.node.id}" / stack.template_file
                    )
                    templates[stack.node.id] = json.loads(path.read_text())
                    stacks[stack.node.id] = stack
            cache[env_name] = Synth(env_name, outdir, templates, stacks)
        return cache[env_name]

    return synth


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def any_env(request, synth_env) -> Synth:
    return synth_env(request.param)
