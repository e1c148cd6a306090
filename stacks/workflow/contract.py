"""The contract the state machine shares with its input-validation Lambda, loaded at synth time.

The Lambda's folder is plain scripts (it is deployed as is), so its ``workflow_contract.py`` is
loaded from its path rather than imported as a package: names, container paths and environment
variables then have one definition for both sides.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

FUNCTION_DIR = Path(__file__).resolve().parents[1] / "functions" / "validate_input"


def _load() -> ModuleType:
    path = FUNCTION_DIR / "workflow_contract.py"
    spec = importlib.util.spec_from_file_location("workflow_contract", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = _load()
