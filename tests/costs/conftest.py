"""The cost function's folder on sys.path: its modules import each other as Lambda does."""

from __future__ import annotations

import sys
from pathlib import Path

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "functions" / "run_cost"
if str(FUNCTION_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTION_DIR))
