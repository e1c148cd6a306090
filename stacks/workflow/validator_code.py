"""The input-validation Lambda's code: its own folder plus the training modules it checks with.

The function refuses hyperparameters that train.py would refuse, with train.py's own
declarations (``training_code/train_config.py`` and ``config_values.py``), and checks a
dataset's field mapping with preparation's (``field_mapping.py`` and ``chat_format.py``). Those
modules are standard library only, so they travel in the function's bundle beside its own
files, with the ``contracts`` and ``costs`` packages: each rule is written once, next to the
code it governs, and the Lambda cannot drift from it. The bundle is assembled at synth time in
a folder named by its content, so the asset's hash changes only when one of its files does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "validate_input"
TRAINING_CODE = ROOT / "training_code"
SHARED_MODULES = ("config_values.py", "train_config.py", "chat_format.py", "field_mapping.py")
# The costs package's files the Lambdas need (refresh.py, which calls AWS, stays out).
COSTS_PACKAGE = ROOT / "costs"
COSTS_FILES = (
    "__init__.py",
    "actual.py",
    "estimate.py",
    "price_list.py",
    "price_table.py",
    "prices.json",
)


# The shared contracts, which the function's modules and the training modules import.
CONTRACTS_PACKAGE = ROOT / "contracts"


def contracts_files() -> dict[str, Path]:
    """``contracts/<module>`` in a bundle -> its source file, for every module of the package."""
    return {f"contracts/{path.name}": path for path in sorted(CONTRACTS_PACKAGE.glob("*.py"))}


def costs_files() -> dict[str, Path]:
    """``costs/<file>`` in a bundle -> its source file."""
    return {f"costs/{name}": COSTS_PACKAGE / name for name in COSTS_FILES}


def bundle_files() -> dict[str, Path]:
    """File name in the bundle -> source file: the function's modules, the shared training
    modules, then the ``contracts`` and ``costs`` packages.
    """
    files = {path.name: path for path in sorted(FUNCTION_DIR.glob("*.py"))}
    for name in SHARED_MODULES:
        if name in files:
            raise ValueError(f"{FUNCTION_DIR / name} would hide training_code/{name}")
        files[name] = TRAINING_CODE / name
    return {**files, **contracts_files(), **costs_files()}


def bundle_dir() -> Path:
    """The validation bundle's folder (under the temp folder, named by content)."""
    return write_bundle("validate-input", bundle_files())


def write_bundle(name: str, files: dict[str, Path]) -> Path:
    """A folder holding ``files`` (bundle path -> source), named by content, written once."""
    digest = hashlib.sha256()
    for relative, path in files.items():
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    parent = Path(tempfile.gettempdir()) / "llm-finetune-assets"
    target = parent / f"{name}-{digest.hexdigest()[:16]}"
    if not target.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{os.getpid()}-"))
        for relative, path in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / relative)
        try:
            staging.rename(target)
        except OSError:  # another synth wrote the same content first
            shutil.rmtree(staging, ignore_errors=True)
    return target
