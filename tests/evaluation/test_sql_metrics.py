"""SQL validity and execution match in the sqlite sandbox, and the text metrics."""

from __future__ import annotations

import time

import pytest
from eval_metrics import gate, normalise, percentile, score_sample
from sql_metrics import check_sql

SHIPS = "SELECT name FROM ships"
OSLO = "SELECT name FROM ships WHERE city = 'Oslo'"
OVER_30 = "SELECT COUNT(*) FROM ships WHERE age > 30"
SCHEMA = "CREATE TABLE ships (name TEXT, city TEXT, age INTEGER); CREATE TABLE ports (city TEXT)"


@pytest.mark.parametrize(
    ("prediction", "reference", "valid", "match"),
    [
        (OSLO, OSLO, True, True),
        ("SELECT name FROM ships WHERE 'Oslo' = city", OSLO, True, True),
        # The reference's literal is among the rows, so a different filter finds other rows.
        ("SELECT name FROM ships WHERE city = 'Lima'", OSLO, True, False),
        (OVER_30, OVER_30 + ";", True, True),
        ("SELECT COUNT(*) FROM ships WHERE age > 31", OVER_30, True, False),
        ("SELECT nme FROM ships", SHIPS, False, False),
        ("SELECT name FROM boats", SHIPS, False, False),
        ("SELEC name FROM ships", SHIPS, False, False),
        ("SELECT 1; SELECT 2", SHIPS, False, False),
        ("", SHIPS, False, False),
        ("-- just a comment", SHIPS, False, False),
        ("DELETE FROM ships", SHIPS, False, False),  # the sandbox is read-only
        ("ATTACH DATABASE '/tmp/x.db' AS x", SHIPS, False, False),
    ],
)
def test_check_sql(prediction, reference, valid, match):
    outcome = check_sql(prediction, reference, SCHEMA)
    assert (outcome.valid, outcome.execution_match) == (valid, match), outcome.error


def test_order_matters_only_when_the_reference_orders():
    ordered = "SELECT name FROM ships ORDER BY age DESC"
    assert (
        check_sql("SELECT name FROM ships ORDER BY age ASC", ordered, SCHEMA).execution_match
        is False
    )
    unordered = "SELECT name FROM ships"
    assert check_sql("SELECT name FROM ships ORDER BY age", unordered, SCHEMA).execution_match


def test_samples_that_cannot_tell_give_none():
    assert check_sql("SELECT 1", "SELECT 1", "CREATE TABLE (oops").valid is None
    broken_reference = check_sql("SELECT name FROM ships", "SELECT nope FROM ships", SCHEMA)
    assert (broken_reference.valid, broken_reference.execution_match) == (True, None)


def test_a_runaway_query_is_interrupted():
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT MAX(x) FROM c"
    started = time.monotonic()
    outcome = check_sql(forever, "SELECT 1", SCHEMA)
    assert outcome.valid is False and "interrupted" in outcome.error
    assert time.monotonic() - started < 10


def test_text_metrics():
    assert normalise("  SELECT  *\nFROM t ; ") == "select * from t"
    sql = {"task": "sql", "schema": SCHEMA}
    scores = score_sample("select name from ships;", "SELECT name FROM ships", sql)
    assert scores["exact_match"] and scores["rouge_l"] == pytest.approx(1.0) and scores["sql_valid"]
    failed = score_sample(None, "SELECT name FROM ships", sql)
    assert not failed["exact_match"] and failed["rouge_l"] == 0.0 and failed["sql_valid"] is False
    chat = score_sample("Paris", "Paris", {"task": "chat"})
    assert chat["sql_valid"] is None and chat["execution_match"] is None


def test_percentile_matches_numpy_and_gate_on_missing_metric():
    values = [0.5, 0.1, 0.9, 0.3, 0.7]
    assert percentile(values, 50) == pytest.approx(0.5)
    assert percentile(values, 95) == pytest.approx(0.86)  # numpy.percentile(values, 95)
    assert percentile([], 50) is None
    missing = gate({"execution_match": None}, "execution_match", 0.5)
    assert missing["passed"] is False and "could not be measured" in missing["reason"]
