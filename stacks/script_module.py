"""Loading a module from one of the project's script folders (code assets, not packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_script(path: Path) -> ModuleType:
    """Imports ``path`` as a module of its own, e.g. ``inference_code/serving_images.py``.

    Raises:
        FileNotFoundError: the file cannot be loaded.
    """
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
