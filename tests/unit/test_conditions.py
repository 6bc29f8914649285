"""Conditions of paths, evaluated in the case model on what a completion recorded.

Each operator on each response type it fits, unanswered fields, `all` / `any`, and
properties of the comparison arithmetic: a decimal threshold means what its digits say,
the operators partition the numbers as they should, and a tree of conditions means the
boolean expression it spells.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casemodel.conditions import evaluate
from casemodel.responses import check_responses
from definitions.schema import Condition, TaskDefinition
from tests.factories import decision_type

TASK = decision_type().tasks[0]


def holds(
    condition: dict[str, Any], responses: dict[str, Any], task: TaskDefinition = TASK
) -> bool:
    recorded = check_responses(task, responses)
    return evaluate(Condition.model_validate(condition), task, recorded).holds


@pytest.mark.parametrize(
    ("condition", "responses", "expected"),
    [
        ({"field": "arrears", "above": 500}, {"arrears": "800"}, True),
        ({"field": "arrears", "above": 500}, {"arrears": "500"}, False),
        ({"field": "arrears", "above": 500}, {"arrears": "500.01"}, True),
        ({"field": "arrears", "at_least": 500}, {"arrears": "£500.00"}, True),
        ({"field": "arrears", "below": "0.5"}, {"arrears": "0.49"}, True),
        ({"field": "arrears", "at_most": 500.5}, {"arrears": "500.50"}, True),
        ({"field": "arrears", "equals": 200}, {"arrears": "200.00"}, True),
        ({"field": "dependants", "at_least": 3}, {"dependants": 3}, True),
        ({"field": "dependants", "one_of": [1, 2]}, {"dependants": "2"}, True),
        ({"field": "dependants", "below": 1}, {"dependants": 0}, True),
        ({"field": "universal-credit", "is_true": True}, {"universal-credit": "yes"}, True),
        ({"field": "universal-credit", "is_true": False}, {"universal-credit": "no"}, True),
        ({"field": "universal-credit", "is_true": True}, {"universal-credit": "no"}, False),
        ({"field": "universal-credit", "equals": False}, {"universal-credit": "no"}, True),
        ({"field": "contact", "equals": "visit"}, {"contact": "Visit"}, True),
        ({"field": "contact", "one_of": ["Phone"]}, {"contact": "Visit"}, False),
        ({"field": "debts", "one_of": ["Energy", "Water"]}, {"debts": "Council tax,Water"}, True),
        ({"field": "debts", "one_of": ["Energy"]}, {"debts": "Council tax,Water"}, False),
        ({"field": "notes", "equals": "Gas meter"}, {"notes": "  gas METER "}, True),
        ({"field": "notes", "one_of": ["a", "b"]}, {"notes": "c"}, False),
        ({"field": "next-review", "above": "2026-12-31"}, {"next-review": "2027-01-01"}, True),
        ({"field": "next-review", "at_most": "2026-12-31"}, {"next-review": "2027-01-01"}, False),
        ({"field": "notes", "is_empty": True}, {}, True),
        ({"field": "notes", "is_empty": True}, {"notes": "seen"}, False),
        ({"field": "notes", "is_empty": False}, {"notes": "seen"}, True),
        ({"field": "debts", "is_empty": True}, {"debts": ""}, True),
    ],
)
def test_each_operator(condition: dict[str, Any], responses: dict[str, Any], expected: bool):
    assert holds(condition, responses) is expected


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "arrears", "above": 0},
        {"field": "arrears", "below": 10**9},
        {"field": "universal-credit", "is_true": False},
        {"field": "universal-credit", "equals": False},
        {"field": "notes", "is_empty": False},
        {"field": "debts", "one_of": ["Energy"]},
        {"field": "contact", "equals": "Phone"},
        {"field": "next-review", "below": "2100-01-01"},
    ],
)
def test_a_test_of_a_field_left_unanswered_does_not_hold(condition: dict[str, Any]):
    assert holds(condition, {}) is False


def test_the_reason_names_the_field_its_answer_and_the_threshold():
    recorded = check_responses(TASK, {"arrears": "800", "debts": "Council tax"})
    hardship = TASK.path("hardship")
    assert hardship is not None
    verdict = evaluate(hardship.when, TASK, {**recorded, "arrears": "2500"})
    assert verdict.holds
    assert verdict.reason == (
        "Rent arrears (£) is 2500, at least 2000 and Priority debts is Council tax, one of "
        "Council tax"
    )
    refer = TASK.path("refer")
    assert refer is not None
    assert evaluate(refer.when, TASK, recorded).reason == "Rent arrears (£) is 800, above 500"
    assert evaluate(None, TASK, {}).reason == "always"
    assert not evaluate(refer.when, TASK, {}).holds


def test_an_answer_that_cannot_be_read_makes_its_test_fail_not_the_case():
    # A type built without validation, or answers from before a field changed type.
    condition = Condition.model_validate({"field": "arrears", "above": 500})
    verdict = evaluate(condition, TASK, {"arrears": "a lot"})
    assert not verdict.holds
    assert "cannot be compared" in verdict.reason
    unknown = Condition.model_validate({"field": "nowhere", "above": 500})
    assert not evaluate(unknown, TASK, {"arrears": "900"}).holds


# --- properties ----------------------------------------------------------------------------

money = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2, allow_nan=False
)


@given(answer=money, threshold=money)
def test_the_numeric_operators_partition_the_numbers(answer: Decimal, threshold: Decimal):
    recorded = {"arrears": str(answer)}

    def test(operator: str) -> bool:
        condition = Condition.model_validate({"field": "arrears", operator: str(threshold)})
        return evaluate(condition, TASK, recorded).holds

    above, below, equals = test("above"), test("below"), test("equals")
    assert above == (answer > threshold)
    assert [above, below, equals].count(True) == 1
    assert test("at_least") == (above or equals)
    assert test("at_most") == (below or equals)


@given(answer=money, threshold=money)
def test_a_threshold_written_as_a_yaml_number_means_its_digits(answer: Decimal, threshold: Decimal):
    # YAML reads 500.10 as a binary float; the format keeps the digits written.
    written = Condition.model_validate({"field": "arrears", "above": float(threshold)})
    assert Decimal(str(written.above)) == threshold
    recorded = {"arrears": str(answer)}
    assert evaluate(written, TASK, recorded).holds == (answer > threshold)


LEAVES = [
    ({"field": "arrears", "above": 500}, lambda r: r["arrears"] > 500),
    ({"field": "dependants", "at_least": 2}, lambda r: r["dependants"] >= 2),
    ({"field": "universal-credit", "is_true": True}, lambda r: r["universal-credit"]),
    ({"field": "contact", "equals": "Visit"}, lambda r: r["contact"] == "Visit"),
]


def trees(depth: int) -> st.SearchStrategy[Any]:
    leaf = st.sampled_from(range(len(LEAVES))).map(lambda i: ("leaf", i))
    if depth == 0:
        return leaf
    smaller = trees(depth - 1)
    joined = st.tuples(st.sampled_from(["all", "any"]), st.lists(smaller, min_size=1, max_size=3))
    return st.one_of(leaf, joined)


def written(tree: Any) -> dict[str, Any]:
    kind, body = tree
    if kind == "leaf":
        return LEAVES[body][0]
    return {kind: [written(part) for part in body]}


def meant(tree: Any, answers: dict[str, Any]) -> bool:
    kind, body = tree
    if kind == "leaf":
        return bool(LEAVES[body][1](answers))
    parts = [meant(part, answers) for part in body]
    return all(parts) if kind == "all" else any(parts)


@given(
    tree=trees(3),
    arrears=st.integers(0, 1000),
    dependants=st.integers(0, 5),
    universal_credit=st.booleans(),
    contact=st.sampled_from(["Phone", "Visit"]),
)
def test_all_and_any_mean_and_and_or(
    tree: Any, arrears: int, dependants: int, universal_credit: bool, contact: str
):
    answers = {
        "arrears": arrears,
        "dependants": dependants,
        "universal-credit": universal_credit,
        "contact": contact,
    }
    recorded = check_responses(TASK, answers)
    condition = Condition.model_validate(written(tree))
    assert evaluate(condition, TASK, recorded).holds == meant(tree, answers)
