"""cfn-lint over every synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Rules switched off for every template, each with the reason.
IGNORED_RULES: dict[str, str] = {}


def test_templates_pass_cfn_lint(any_env, tmp_path):
    paths = []
    for name, template in any_env.templates.items():
        path = tmp_path / f"{any_env.env_name}-{name}.json"
        path.write_text(json.dumps(template))
        paths.append(str(path))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            *(["--ignore-checks", *IGNORED_RULES] if IGNORED_RULES else []),
            "--",
            *paths,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
