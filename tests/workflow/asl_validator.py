"""asl-validator (npm, pinned in package.json) over several state machine definitions at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assert_valid_asl(definitions: dict[str, dict], folder: Path) -> None:
    """Fails with asl-validator's report unless every definition (by name) is valid."""
    paths = []
    for name, definition in definitions.items():
        path = folder / f"{name}.asl.json"
        path.write_text(json.dumps(definition))
        paths += ["--json-path", str(path)]
    npx = Path(sys.executable).parent / "npx"
    result = subprocess.run(
        [str(npx), "--no-install", "asl-validator", *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(definitions), result.stdout
