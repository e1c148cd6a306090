"""The training workflow's first state: check the execution input and plan the run.

Lambda handler ``validate_input.handler`` (Python 3.12, standard library only), in two modes:

- **Validate and plan** (the training state machine): ``{"input": <execution input>,
  "execution_name": <name>}`` returns the normalised input plus the run's names, S3 locations
  and request parts (``run_plan.plan``), or raises ``InvalidInputError`` listing every problem,
  so a bad input stops the execution in its first state before anything is launched.
- **Names only** (the stopped-run cleanup): ``{"names_for": {"input": <the stopped execution's
  input, or its JSON text>, "execution_name": <its name>}}`` returns ``{"run": {"run_name",
  "names", "evaluation": {"compare_with_base"}}}``: the names the run plan gave that execution's
  SageMaker resources, and nothing else. Nothing is checked (no S3, no contract): an input that
  was rejected still has names, which simply name nothing.

Try it locally (``training_code/`` and the repository root hold the modules and the
``contracts`` and ``costs`` packages the deployed bundle carries with it)::

    ARTIFACTS_BUCKET=artifacts DATA_BUCKET=data CODE_URI=s3://artifacts/code.tar.gz \\
    WHEELS_URI=s3://artifacts/wheels/ TRAINING_INSTANCE_COUNT=1 DEFAULT_METRIC=exact_match \\
    DEFAULT_THRESHOLD=0.5 DEFAULT_MAX_SAMPLES=100 INTERNET_ACCESS=true \\
    PYTHONPATH=../../training_code:../.. \\
    python validate_input.py '{"base_model": "org/model", "recipe": "lora",
                               "dataset": {"s3_uri": "s3://data/train.jsonl"}}'
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from execution_input import InvalidInputError, normalise, run_name_for
from run_plan import plan
from run_settings import Settings

from contracts import workflow as contract

__all__ = ["InvalidInputError", "handler", "run_names"]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Validates ``event["input"]`` and returns the planned run, or, for an event with
    ``names_for``, returns only the run's names (``run_names``).

    Raises:
        InvalidInputError: the input breaks the contract (the Step Functions error name).
        ValueError: the event is not what a state machine sends (a wiring bug).
    """
    if isinstance(event, dict) and "names_for" in event:
        return _names_for(event["names_for"])
    if not isinstance(event, dict) or "input" not in event or "execution_name" not in event:
        raise ValueError("expected {'input': ..., 'execution_name': ...} from the state machine")
    settings = Settings.from_environ(os.environ)
    try:
        run = normalise(event["input"], str(event["execution_name"]), settings)
    except InvalidInputError as error:
        print(json.dumps({"accepted": False, "problems": error.problems}))
        raise
    planned = plan(run, settings)
    print(json.dumps({"accepted": True, "run_name": planned["run_name"]}))
    return planned


def run_names(raw: Any, execution_name: str) -> dict[str, Any]:
    """The names ``run_plan.plan`` gives the resources of the execution that got ``raw``.

    ``raw`` is the execution's input, or its JSON text (as EventBridge passes it). The run is
    named as ``execution_input.normalise`` names it: by ``run_name``, or by the execution name
    when the input has none. ``run_name`` is None where validation rejects the name itself (a
    ``run_name`` that is not a string, has no letter or digit or has characters outside ASCII,
    or such an execution name):
    such an execution stopped in its first state and created nothing, and falling back to
    another name could name another run's resources.
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raw = {}
    chosen = raw.get("run_name")
    if chosen is None:
        run_name = run_name_for(execution_name)
    else:
        run_name = run_name_for(chosen) if isinstance(chosen, str) else None
    evaluation = raw.get("evaluation")
    compare = isinstance(evaluation, dict) and evaluation.get("compare_with_base") is True
    return {
        "run_name": run_name or None,
        "names": {key: run_name + suffix for key, suffix in contract.NAME_SUFFIXES.items()}
        if run_name
        else {},
        "evaluation": {"compare_with_base": compare},
    }


def _names_for(request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or "execution_name" not in request:
        raise ValueError("expected {'names_for': {'input': ..., 'execution_name': ...}}")
    execution_name = str(request["execution_name"])
    run = run_names(request.get("input"), execution_name)
    print(json.dumps({"names_for": execution_name, "run_name": run["run_name"]}))
    return {"run": run}


if __name__ == "__main__":
    result = handler({"input": json.loads(sys.argv[1]), "execution_name": "local-try"})
    print(json.dumps(result, indent=2))
