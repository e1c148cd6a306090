"""The evaluation tests import training_code modules by their flat names."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/conftest.py puts these on sys.path too; kept here so this folder also runs alone.
_ROOT = Path(__file__).resolve().parents[2]
for _path in (_ROOT, _ROOT / "training_code", _ROOT / "inference_code"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
