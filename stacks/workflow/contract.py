"""The contract the state machine shares with its input-validation Lambda, loaded at synth time.

The Lambda's folder is plain scripts (it is deployed as is), so its ``workflow_contract.py`` is
loaded from its path rather than imported as a package: names, container paths and environment
variables then have one definition for both sides.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from stacks.script_module import load_script

FUNCTION_DIR = Path(__file__).resolve().parents[1] / "functions" / "validate_input"


contract: ModuleType = load_script(FUNCTION_DIR / "workflow_contract.py")
