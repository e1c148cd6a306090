"""The validation Lambda's names-only mode, which the stopped-run cleanup calls.

A stopped execution is cleaned up by name, so the names must be exactly the ones its run plan
gave its resources, and must come out of any input, even one that was rejected.
"""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
import run_plan
import validate_input
from execution_input import normalise

from contracts import workflow as contract
from tests.workflow.lambda_settings import SETTINGS

GOOD = {
    "base_model": "s3://data-bucket/models/smollm2/",
    "dataset": {"s3_uri": "s3://data-bucket/datasets/sql.jsonl"},
    "recipe": "lora",
}


def _names_for(raw, execution_name: str = "exec-1") -> dict:
    """What the Lambda answers the cleanup, with no environment (it needs none)."""
    with mock.patch.dict(os.environ, {}, clear=True):
        return validate_input.handler(
            {"names_for": {"input": raw, "execution_name": execution_name}}
        )["run"]


@pytest.mark.parametrize(
    ("raw", "execution_name"),
    [
        ({**GOOD, "run_name": "sql-demo"}, "exec-1"),
        (GOOD, "sql_demo.2026-11-27"),  # named by the execution, made a SageMaker name
        ({**GOOD, "run_name": "Mixed Case run / #7"}, "exec-1"),
        ({**GOOD, "run_name": "a" * 80}, "exec-1"),  # shortened, with a hash
        ({**GOOD, "evaluation": {"compare_with_base": True}}, "exec-2"),
    ],
)
def test_the_names_are_the_run_plans(raw, execution_name):
    planned = run_plan.plan(normalise(raw, execution_name, SETTINGS), SETTINGS)
    for given in (raw, json.dumps(raw)):  # EventBridge passes the input as JSON text
        run = _names_for(given, execution_name)
        assert run["run_name"] == planned["run_name"]
        assert run["names"] == planned["names"]
        assert run["evaluation"] == {
            "compare_with_base": planned["evaluation"]["compare_with_base"]
        }


def test_every_resource_name_is_there():
    run = _names_for({"run_name": "sql-demo"})
    assert run["names"] == {
        key: "sql-demo" + suffix for key, suffix in contract.NAME_SUFFIXES.items()
    }
    assert (run["names"]["endpoint"], run["names"]["base_endpoint"]) == (
        "sql-demo-eval",
        "sql-demo-base",
    )


def test_a_rejected_input_still_has_names():
    """Nothing is checked: no S3, no contract (a rejected run created nothing to find)."""
    bad = {"run_name": "sql-demo", "recipe": "lorax", "dataset": "s3://elsewhere/x"}
    assert _names_for(bad)["names"]["endpoint"] == "sql-demo-eval"


@pytest.mark.parametrize(
    "raw",
    [None, [], ["sql-demo"], "not json {", json.dumps("sql-demo"), 3, json.dumps([1])],
)
def test_an_input_that_is_not_an_object_is_named_by_the_execution(raw):
    run = _names_for(raw, "exec-7")
    assert run["run_name"] == "exec-7"
    assert run["names"]["endpoint"] == "exec-7-eval"
    assert run["evaluation"] == {"compare_with_base": False}


def test_without_a_run_name_the_execution_names_the_run():
    assert _names_for({**GOOD, "run_name": None}, "exec-8")["run_name"] == "exec-8"


@pytest.mark.parametrize(
    "run_name", [12, True, ["a"], {"name": "a"}, "---", "", "sql-训练-v2", "Ünïcode run"]
)
def test_a_run_name_the_validation_rejects_names_nothing(run_name):
    """Such an execution stopped in its first state; the execution's own name could be another
    run's, whose endpoints the cleanup must not touch."""
    assert _names_for({**GOOD, "run_name": run_name}, "exec-8") == {
        "run_name": None,
        "names": {},
        "evaluation": {"compare_with_base": False},
    }


@pytest.mark.parametrize(
    ("evaluation", "compared"),
    [
        ({"compare_with_base": True}, True),
        ({"compare_with_base": "true"}, False),  # rejected by the validation: never deployed
        ({}, False),
        ("compare", False),
    ],
)
def test_compare_with_base_only_when_it_is_true(evaluation, compared):
    run = _names_for({**GOOD, "evaluation": evaluation})
    assert run["evaluation"] == {"compare_with_base": compared}


def test_an_execution_with_no_name_at_all_has_no_names():
    """Such an execution was rejected in its first state; the cleanup skips it."""
    assert _names_for({"run_name": "___"}, "___") == {
        "run_name": None,
        "names": {},
        "evaluation": {"compare_with_base": False},
    }


@pytest.mark.parametrize("event", [{"names_for": None}, {"names_for": {"input": {}}}])
def test_a_malformed_request_is_a_wiring_bug(event):
    with pytest.raises(ValueError, match="names_for"):
        validate_input.handler(event)
