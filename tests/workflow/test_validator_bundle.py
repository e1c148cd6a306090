"""The validation Lambda's bundle: its own modules, the training modules it checks with and the
shared packages, and nothing else it needs, so train.py's limits reach it from their one home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from stacks.workflow.validator_code import (
    CONTRACTS_PACKAGE,
    COSTS_FILES,
    FUNCTION_DIR,
    SHARED_MODULES,
    bundle_dir,
)
from tests.workflow.lambda_settings import RESOURCES_JSON, SETTINGS

BAD = {
    "base_model": "s3://data-bucket/models/m/",
    "dataset": {"s3_uri": "s3://data-bucket/my data/train 1.jsonl", "fields": {"answr": "sql"}},
    "recipe": "lora",
    "hyperparameters": {"learning_rate": -0.1, "per_device_train_batch_size": 1e18},
}
# Run the handler as Lambda runs it: the bundle as the only code folder (python -I ignores
# PYTHONPATH and the user site), the environment the stack sets.
INVOKE = """
import json, sys
sys.path[:] = [p for p in sys.path if "site-packages" not in p and p != ""]
sys.path.insert(0, ".")
import validate_input
try:
    validate_input.handler({"input": json.loads(sys.argv[1]), "execution_name": "e"})
except Exception as error:
    print(json.dumps({"type": type(error).__name__, "problems": error.problems}))
"""


def test_the_bundle_holds_the_function_and_the_shared_training_modules():
    folder = bundle_dir()
    own = {path.name for path in FUNCTION_DIR.glob("*.py")}
    shared = {"contracts", "costs"}
    assert {path.name for path in folder.iterdir()} == own | set(SHARED_MODULES) | shared
    assert {path.name for path in (folder / "costs").iterdir()} == set(COSTS_FILES)
    contracts = {path.name for path in CONTRACTS_PACKAGE.glob("*.py")}
    assert {path.name for path in (folder / "contracts").iterdir()} == contracts
    assert bundle_dir() == folder  # named by content: the same files, the same folder


def test_the_bundle_alone_validates_with_train_py_s_limits(tmp_path):
    code = shutil.copytree(bundle_dir(), tmp_path / "task")  # a run leaves __pycache__ behind
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "ARTIFACTS_BUCKET": SETTINGS.artifacts_bucket,
        "DATA_BUCKET": SETTINGS.data_bucket,
        "CODE_URI": SETTINGS.code_uri,
        "WHEELS_URI": SETTINGS.wheels_uri,
        "TRAINING_INSTANCE_COUNT": "1",
        "DEFAULT_METRIC": "exact_match",
        "DEFAULT_THRESHOLD": "0.5",
        "DEFAULT_MAX_SAMPLES": "10",
        "INTERNET_ACCESS": "true",
        "RUN_RESOURCES": RESOURCES_JSON,
    }
    result = subprocess.run(
        [sys.executable, "-I", "-c", INVOKE, json.dumps(BAD)],
        cwd=code, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "type": "InvalidInputError",
        "problems": [
            "dataset.fields.answr: is not a record field (did you mean 'answer'?); fields: "
            "messages, prompt, completion, instruction, input, output, question, context, "
            "answer, metadata",
            "hyperparameters.learning_rate: must be > 0, got -0.1",
            "hyperparameters.per_device_train_batch_size: must be in [1, 65536], got "
            "1000000000000000000",
        ],
    }


PRICE = """
import json, sys
from datetime import date
sys.path[:] = [p for p in sys.path if "site-packages" not in p and p != ""]
sys.path.insert(0, ".")
from run_settings import _resources
from plan_cost import cost_estimate
print(json.dumps(cost_estimate({}, _resources(sys.argv[1]), date(2026, 12, 8))))
"""


def test_the_bundle_alone_prices_the_run_from_its_own_table(tmp_path):
    code = shutil.copytree(bundle_dir(), tmp_path / "task")
    result = subprocess.run(
        [sys.executable, "-I", "-c", PRICE, RESOURCES_JSON],
        cwd=code, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    estimate = json.loads(result.stdout)
    assert "unavailable" not in estimate, estimate
    assert [stage["stage"] for stage in estimate["stages"]] == [
        "preparation", "training", "evaluation endpoints", "evaluation",
    ]  # fmt: skip
    assert estimate["total_usd"] > 0 and "costs/prices.json" in estimate["source"]
