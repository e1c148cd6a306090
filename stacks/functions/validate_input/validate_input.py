"""The training workflow's first state: check the execution input and plan the run.

Lambda handler ``validate_input.handler`` (Python 3.12, standard library only). The state
machine sends ``{"input": <execution input>, "execution_name": <name>}``; the function returns
the normalised input plus the run's names, S3 locations and request parts (``run_plan.plan``),
or raises ``InvalidInputError`` listing every problem, so a bad input stops the execution in
its first state before anything is launched.

Try it locally::

    ARTIFACTS_BUCKET=a DATA_BUCKET=d CODE_URI=s3://c/code.tar.gz TRAINING_INSTANCE_COUNT=1 \\
    DEFAULT_METRIC=exact_match DEFAULT_THRESHOLD=0.5 DEFAULT_MAX_SAMPLES=100 INTERNET_ACCESS=true \\
    python validate_input.py '{"base_model": "org/model", "recipe": "lora",
                               "dataset": {"s3_uri": "s3://d/train.jsonl"}}'
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from execution_input import InvalidInputError, normalise
from run_plan import plan
from run_settings import Settings

__all__ = ["InvalidInputError", "handler"]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Validates ``event["input"]`` and returns the planned run.

    Raises:
        InvalidInputError: the input breaks the contract (the Step Functions error name).
        ValueError: the event is not what the state machine sends (a wiring bug).
    """
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


if __name__ == "__main__":
    result = handler({"input": json.loads(sys.argv[1]), "execution_name": "local-try"})
    print(json.dumps(result, indent=2))
