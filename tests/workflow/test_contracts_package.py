"""The shared contracts: standard library only, and carried by every code asset and Lambda."""

from __future__ import annotations

import ast
import io
import sys
import tarfile
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from stacks.workflow import run_cost_function, validator_code
from stacks.workflow.code_asset import ROOT, CodeAsset

CONTRACTS = ROOT / "contracts"
MODULES = sorted(f"contracts/{path.name}" for path in CONTRACTS.glob("*.py"))


def _imported(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_has_its_modules():
    assert {"contracts/__init__.py", "contracts/workflow.py", "contracts/chat.py"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_contract_imports_only_the_standard_library_and_its_package(module):
    allowed = set(sys.stdlib_module_names) | {"__future__", "contracts"}
    assert _imported(ROOT / module) <= allowed


@pytest.mark.parametrize("folder", ["training_code", "inference_code"])
def test_each_code_asset_carries_the_contracts(folder, tmp_path):
    app = App(outdir=str(tmp_path))
    code = CodeAsset(Stack(app, "Code"), "Code", source=ROOT / folder)
    assembly = Path(app.synth().directory)
    data = (assembly / code.asset.asset_path).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
    assert set(MODULES) <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("bundle", [validator_code.bundle_files, run_cost_function.bundle_files])
def test_each_lambda_bundle_carries_the_contracts(bundle):
    assert set(MODULES) <= set(bundle())
