"""The rules of paths and their conditions, met by every construction of a type.

`definitions.invariants` checks a path's condition against its task's fields (the field
exists, the operator fits its response type, the value reads as that type), and what
follows against the type (its tasks, its case outcomes), on raw data and on models alike:
so the loader, `ProvisionType` and `Case.open` all refuse the same mistakes.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from casemodel.case import Case
from casemodel.errors import CaseNotStarted
from definitions import limits
from definitions.invariants import check_dated_rules, check_provision_type, check_publishing_rules
from definitions.schema import Condition, InformationField, ProvisionType
from tests.factories import T0, decision_type

VALID = decision_type().model_dump(mode="json", exclude_defaults=True)


def with_path(path: dict[str, Any], task: int = 0) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["tasks"][task]["paths"] = [path]
    return data


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.location, p.message) for p in check_provision_type(data)]


def test_the_type_the_rules_are_broken_from_meets_them():
    assert check_provision_type(VALID) == []
    assert check_provision_type(decision_type()) == []
    assert check_publishing_rules(VALID) == []
    assert check_dated_rules(VALID) == []


@pytest.mark.parametrize(
    ("when", "where", "message"),
    [
        (
            {"field": "arears", "above": 500},
            "tasks[0].paths[0].when.field",
            '"arears" is not a field of this task (did you mean "arrears"?); its fields are: ',
        ),
        (
            {"field": "notes", "above": 500},
            "tasks[0].paths[0].when.above",
            '`above` does not fit "Notes", a text field: it fits integer, decimal, date and '
            "date_time fields",
        ),
        (
            {"field": "arrears", "is_true": True},
            "tasks[0].paths[0].when.is_true",
            '`is_true` does not fit "Rent arrears (£)", a decimal field: it fits true_false',
        ),
        (
            {"field": "next-review", "one_of": ["2026-01-01"]},
            "tasks[0].paths[0].when.one_of",
            "`one_of` does not fit",
        ),
        (
            {"field": "debts", "equals": "Energy"},
            "tasks[0].paths[0].when.equals",
            '`equals` does not fit "Priority debts", a multi_lookup field: it fits text, '
            "integer, decimal, date, date_time, true_false and lookup fields; use one_of",
        ),
        (
            {"field": "arrears", "above": "five hundred"},
            "tasks[0].paths[0].when.above",
            '"five hundred" is not a number, as "Rent arrears (£)" is a decimal field',
        ),
        (
            {"field": "dependants", "at_least": 1.5},
            "tasks[0].paths[0].when.at_least",
            '1.5 is not a whole number, as "Dependent children" is an integer field',
        ),
        (
            {"field": "next-review", "above": "next week"},
            "tasks[0].paths[0].when.above",
            '"next week" is not a date; write it as YYYY-MM-DD',
        ),
        (
            {"field": "contact", "equals": "Email"},
            "tasks[0].paths[0].when.equals",
            '"Email" is not one of the field\'s options: Phone, Visit',
        ),
        (
            {"all": [{"field": "arrears", "above": 1}, {"field": "debts", "one_of": ["Gas"]}]},
            "tasks[0].paths[0].when.all[1].one_of[0]",
            '"Gas" is not one of the field\'s options: Council tax, Energy, Water',
        ),
        (
            {"field": "notes", "equals": 5},
            "tasks[0].paths[0].when.equals",
            "5 is not text; put it in quotes",
        ),
    ],
)
def test_a_condition_must_fit_its_field(when: dict[str, Any], where: str, message: str):
    data = with_path({"id": "p", "when": when, "adds_tasks": ["referral"]})
    found = problems_of(data)
    assert any(loc == where and text.startswith(message) for loc, text in found), found
    with pytest.raises(ValidationError, match="breaks 1 of its rules"):
        ProvisionType.model_validate(data)


@pytest.mark.parametrize(
    ("path", "where", "message"),
    [
        (
            {"id": "p", "adds_tasks": ["referal"]},
            "tasks[0].paths[0].adds_tasks[0]",
            '"referal" is not a task of this type (did you mean "referral"?)',
        ),
        (
            {"id": "p", "completes_case": "declined"},
            "tasks[0].paths[0].completes_case",
            '"declined" is not one of the type\'s case outcomes (did you mean '
            '"support-declined"?); they are: support-declined, arrears-stabilised',
        ),
        (
            {"id": "p", "outcome": "engagd", "adds_tasks": ["referral"]},
            "tasks[0].paths[0].outcome",
            '"engagd" is not an outcome of this task (did you mean "engaged"?); its outcomes '
            "are: engaged, not-engaging",
        ),
    ],
)
def test_what_follows_names_the_types_own_tasks_and_outcomes(
    path: dict[str, Any], where: str, message: str
):
    found = problems_of(with_path(path))
    assert any(loc == where and text.startswith(message) for loc, text in found), found


def test_path_ids_are_unique_within_their_task():
    data = copy.deepcopy(VALID)
    data["tasks"][0]["paths"].append({"id": "refer", "adds_tasks": ["review"]})
    assert (
        "tasks[0].paths[3].id",
        '"refer" is already the id of tasks[0].paths[0]; path ids '
        "must be unique, rename one of them",
    ) in problems_of(data)


def test_conditions_are_bounded_in_depth_and_in_tests():
    deep: dict[str, Any] = {"field": "arrears", "above": 1}
    for _ in range(limits.CONDITION_DEPTH + 1):
        deep = {"any": [deep]}
    found = problems_of(with_path({"id": "p", "when": deep, "adds_tasks": ["referral"]}))
    where = "tasks[0].paths[0].when" + ".any[0]" * limits.CONDITION_DEPTH
    assert [loc for loc, _ in found] == [where]
    assert "nest more than 4 levels deep" in found[0][1]

    many = {"all": [{"any": [{"field": "arrears", "above": i}] * 20} for i in range(3)]}
    found = problems_of(with_path({"id": "p", "when": many, "adds_tasks": ["referral"]}))
    assert found == [
        (
            "tasks[0].paths[0].when",
            "the condition tests fields 60 times; the limit is 50, so split the decision into "
            "several paths",
        )
    ]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"field": "arrears"}, "exactly one operator"),
        ({"field": "arrears", "above": 1, "below": 9}, "found above, below"),
        ({"above": 1}, "a condition needs a `field`"),
        ({"all": [{"field": "arrears", "above": 1}], "field": "arrears"}, "either `all` or `any`"),
        ({"field": "arrears", "over": 1}, "Extra inputs are not permitted"),
        ({"field": "arrears", "one_of": []}, "at least 1 item"),
    ],
)
def test_the_schema_refuses_a_condition_of_the_wrong_shape(when: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        Condition.model_validate(when)


def test_a_path_does_something_and_a_completing_path_adds_nothing():
    with pytest.raises(ValidationError, match="a path needs something to follow"):
        ProvisionType.model_validate(
            with_path({"id": "p", "when": {"field": "notes", "is_empty": True}})
        )
    both = with_path({"id": "p", "completes_case": "support-declined", "adds_tasks": ["review"]})
    assert [p.location for p in check_publishing_rules(both)] == ["tasks[0].paths[0].adds_tasks"]


def test_min_and_max_only_on_numbers_whole_for_integers_and_in_order():
    def field(**extra: Any) -> None:
        InformationField.model_validate({"id": "f", "label": "F", **extra})

    field(response_type="decimal", min="0.5", max=10)
    with pytest.raises(ValidationError, match="`min` only applies to integer and decimal"):
        field(response_type="text", min=0)
    with pytest.raises(ValidationError, match="`max` of an integer field must be a whole"):
        field(response_type="integer", max=2.5)
    with pytest.raises(ValidationError, match="`min` 5 is greater than `max` 1"):
        field(response_type="integer", min=5, max=1)
    with pytest.raises(ValidationError, match="less than or equal to 1000000000000000"):
        field(response_type="decimal", max=10**16)


def test_a_path_adding_a_task_not_in_effect_while_it_is_is_a_dated_problem():
    data = copy.deepcopy(VALID)
    data["tasks"][1]["effective_to"] = "2027-03-31"
    found = check_dated_rules(data)
    assert [p.location for p in found] == ["tasks[0].paths[0].adds_tasks[0]"]
    assert 'adds "referral", which is not in effect on 2027-04-01' in found[0].message


def test_a_case_does_not_open_on_a_type_whose_paths_break_the_rules():
    good = decision_type()
    task = good.tasks[0]
    broken_path = task.paths[0].model_copy(
        update={"when": Condition.model_construct(field="notes", above=500)}
    )
    broken = good.model_copy(
        update={
            "tasks": (task.model_copy(update={"paths": (broken_path,)}), *good.tasks[1:]),
        }
    )
    with pytest.raises(CaseNotStarted, match="`above` does not fit"):
        Case.open(broken, case_ref="C", tenant_ref="T", owner="o", now=T0, opened_by="t")


def test_a_snapshot_reads_back_to_the_same_paths():
    from definitions.snapshot import carried_form

    original = decision_type()
    carried = carried_form(original)
    assert carried["tasks"][0]["paths"][1]["when"]["all"][1]["any"][1] == {
        "field": "universal-credit",
        "is_true": True,
    }
    assert ProvisionType.model_validate(carried).tasks == original.tasks
