"""Every module that training_code/ imports (inside functions too) is the standard library,
training_code's own, a package its code asset carries (contracts), shipped with the job image
(torch, boto3) or installed from the lock."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

import pytest

from stacks.workflow.code_asset import SHARED_PACKAGES
from stacks.workflow.job_image import JOB_IMAGE
from tests.job_environment.locked import LOCKED, canonical

TRAINING_CODE = Path(__file__).resolve().parents[2] / "training_code"


def imported_modules(folder: Path) -> dict[str, list[str]]:
    """Top-level module name -> the ``file:line`` places that import it (absolute imports)."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                where = f"{path.relative_to(folder.parent)}:{node.lineno}"
                found.setdefault(name.split(".")[0], []).append(where)
    return found


IMPORTS = imported_modules(TRAINING_CODE)
OWN = {path.stem for path in TRAINING_CODE.glob("*.py")} | {p.name for p in SHARED_PACKAGES}
THIRD_PARTY = sorted(set(IMPORTS) - set(sys.stdlib_module_names) - OWN)
PROVIDERS = metadata.packages_distributions()


def test_imports_are_found_inside_functions_too():
    assert "training_code/model_setup.py" in IMPORTS["liger_kernel"][0]
    assert {"torch", "transformers", "yaml"} <= set(THIRD_PARTY)


@pytest.mark.parametrize("module", THIRD_PARTY)
def test_every_import_is_in_the_image_or_the_lock(module):
    providers = canonical(PROVIDERS.get(module, []))
    places = ", ".join(IMPORTS[module])
    assert providers, f"{module} ({places}) is not installed here, so no lock provides it"
    assert providers & (set(LOCKED) | JOB_IMAGE.shipped), (
        f"{module} ({places}) comes from {sorted(providers)}, which is neither in the job image "
        f"({sorted(JOB_IMAGE.shipped)}) nor in training_code/requirements.lock: add it to "
        "training_code/requirements.in and run make lock"
    )
