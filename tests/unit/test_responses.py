"""Answers to information fields: normalised to JSON-safe values, every problem reported."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casemodel.case import Case
from casemodel.errors import InvalidResponses
from casemodel.responses import check_responses
from casemodel.state import CaseState
from definitions.schema import TaskDefinition
from tests.factories import at, decision_type, visit_type

OPTIONS = ["low", "medium", "high"]
NEEDS = ["debt", "health", "clutter"]


def task(*fields: dict[str, Any], task_id: str = "assess") -> TaskDefinition:
    return TaskDefinition.model_validate({"id": task_id, "name": "Assess", "fields": list(fields)})


def field(kind: str, *, mandatory: bool = False, field_id: str = "answer") -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": field_id,
        "label": "Answer",
        "response_type": kind,
        "mandatory": mandatory,
    }
    if kind == "lookup":
        data["options"] = OPTIONS
    if kind == "multi_lookup":
        data["options"] = NEEDS
    return data


def answer(kind: str, raw: Any) -> Any:
    return check_responses(task(field(kind)), {"answer": raw}).get("answer", "<none>")


def problem(kind: str, raw: Any) -> str:
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(task(field(kind)), {"answer": raw})
    assert refusal.value.code == "invalid_responses"
    return refusal.value.message


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("text", "  rent arrears  ", "rent arrears"),
        ("text", 42, "42"),
        ("integer", "1,200", 1200),
        ("integer", " 42 ", 42),
        ("integer", 7, 7),
        ("integer", "-3", -3),
        ("decimal", "£12.50", "12.50"),
        ("decimal", " £1,234.5 ", "1234.5"),
        ("decimal", 3, "3"),
        ("decimal", 2.5, "2.5"),
        ("decimal", "-0.75", "-0.75"),
        ("date", "2026-03-02", "2026-03-02"),
        ("date", " 2026-03-02 ", "2026-03-02"),
        ("date", date(2026, 3, 2), "2026-03-02"),
        ("date_time", "2026-03-02T09:30+00:00", "2026-03-02T09:30:00+00:00"),
        ("date_time", datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "2026-03-02T09:30:00+00:00"),
        ("date_time", "2026-03-02T09:30", "2026-03-02T09:30:00"),
        ("true_false", "yes", True),
        ("true_false", "No", False),
        ("true_false", "Y", True),
        ("true_false", "n", False),
        ("true_false", "TRUE", True),
        ("true_false", "false", False),
        ("true_false", "1", True),
        ("true_false", 0, False),
        ("true_false", True, True),
        ("true_false", False, False),
        ("lookup", "HIGH", "high"),
        ("lookup", " Medium ", "medium"),
        ("lookup", "low", "low"),
        ("multi_lookup", "debt, Health", ["debt", "health"]),
        ("multi_lookup", "CLUTTER", ["clutter"]),
        ("multi_lookup", "debt,,health,", ["debt", "health"]),
        ("multi_lookup", "debt, DEBT", ["debt"]),
        ("multi_lookup", ["Clutter", "debt"], ["clutter", "debt"]),
        ("multi_lookup", ("health",), ["health"]),
    ],
)
def test_answers_are_normalised(kind: str, raw: Any, expected: Any) -> None:
    value = answer(kind, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("kind", ["text", "integer", "date", "lookup", "multi_lookup"])
@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_blank_answer_is_no_answer(kind: str, raw: Any) -> None:
    assert answer(kind, raw) == "<none>"


@pytest.mark.parametrize("raw", [[], ",", " , "])
def test_choosing_nothing_from_a_multi_lookup_is_no_answer(raw: Any) -> None:
    assert answer("multi_lookup", raw) == "<none>"
    with pytest.raises(InvalidResponses, match="Answer is mandatory: answer with one or more of"):
        check_responses(task(field("multi_lookup", mandatory=True)), {"answer": raw})


TOO_LARGE = "is larger than a number answer may be (at most 10^15 either way)"


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("integer", "1.5", 'Answer: "1.5" is not a whole number'),
        ("integer", "twelve", 'Answer: "twelve" is not a whole number'),
        ("integer", True, "Answer: True is not a whole number"),
        ("decimal", "£12.5.0", 'Answer: "£12.5.0" is not a number'),
        ("decimal", "NaN", 'Answer: "NaN" is not a number'),
        ("decimal", "Infinity", 'Answer: "Infinity" is not a number'),
        ("decimal", False, "Answer: False is not a number"),
        ("integer", 10**20, f'Answer: "{10**20}" {TOO_LARGE}'),
        ("integer", "10000000000000001", f'Answer: "10000000000000001" {TOO_LARGE}'),
        ("decimal", "10000000000000001", f'Answer: "10000000000000001" {TOO_LARGE}'),
        ("decimal", "1e999999999", f'Answer: "1e999999999" {TOO_LARGE}'),
        ("decimal", 1e300, f'Answer: "1e+300" {TOO_LARGE}'),
        ("decimal", "0.00000000001", 'Answer: "0.00000000001" has more than 10 decimal places'),
        ("date", "02/03/2026", 'Answer: "02/03/2026" is not a date; write it as YYYY-MM-DD'),
        (
            "date_time",
            "tomorrow",
            'Answer: "tomorrow" is not a date and time; write it as YYYY-MM-DDTHH:MM[+00:00]',
        ),
        ("true_false", "maybe", 'Answer: "maybe" is not true or false; answer yes or no'),
        ("true_false", 2, 'Answer: "2" is not true or false; answer yes or no'),
        ("lookup", "extreme", 'Answer: "extreme" is not one of: low, medium, high'),
        ("multi_lookup", "debt, rent", 'Answer: "rent" is not one of: debt, health, clutter'),
        ("multi_lookup", ["debt", "pets"], 'Answer: "pets" is not one of: debt, health, clutter'),
    ],
)
def test_a_wrong_answer_says_what_was_expected(kind: str, raw: Any, message: str) -> None:
    assert problem(kind, raw) == f"Cannot complete assess: {message}"


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("text", "some text"),
        ("integer", "a whole number"),
        ("decimal", "a number"),
        ("date", "a date, YYYY-MM-DD"),
        ("date_time", "a date and time, YYYY-MM-DDTHH:MM"),
        ("true_false", "yes or no"),
        ("lookup", "one of: low, medium, high"),
        ("multi_lookup", "one or more of: debt, health, clutter"),
    ],
)
def test_a_missing_mandatory_answer_says_how_to_answer(kind: str, hint: str) -> None:
    for answers in ({}, {"answer": ""}, {"answer": None}):
        with pytest.raises(InvalidResponses) as refusal:
            check_responses(task(field(kind, mandatory=True)), answers)
        assert (
            refusal.value.message
            == f"Cannot complete assess: Answer is mandatory: answer with {hint}"
        )


def test_a_wrong_answer_to_a_mandatory_field_is_reported_once() -> None:
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(task(field("lookup", mandatory=True)), {"answer": "extreme"})
    assert refusal.value.message == (
        'Cannot complete assess: Answer: "extreme" is not one of: low, medium, high'
    )


def test_a_field_may_be_named_by_its_label_in_any_case() -> None:
    assert check_responses(task(field("integer")), {" ANSWER ": "3"}) == {"answer": 3}


def test_an_unknown_field_names_the_fields() -> None:
    definition = visit_type().task("risk-assessment")
    assert definition is not None
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(definition, {"risk-level": "low", "colour": "red"})
    assert refusal.value.message == (
        'Cannot complete risk-assessment: "colour" is not a field of risk-assessment; its fields '
        "are: risk-level (Risk level), consent (Tenant consent), arrears (Arrears), visits "
        "(Visits), review (Review date), seen (Seen at), needs (Needs), notes (Notes)"
    )


def test_a_task_without_fields_takes_no_answers() -> None:
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(task(), {"notes": "hello"})
    assert refusal.value.message == (
        'Cannot complete assess: "notes" is not a field of assess; its fields are: none'
    )
    assert check_responses(task(), {}) == {}


def test_a_field_answered_twice_is_refused() -> None:
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(task(field("lookup")), {"answer": "low", "Answer": "high"})
    assert refusal.value.message == "Cannot complete assess: Answer is answered twice"


def test_every_problem_is_reported_in_one_message() -> None:
    definition = visit_type().task("risk-assessment")
    assert definition is not None
    with pytest.raises(InvalidResponses) as refusal:
        check_responses(
            definition,
            {"colour": "red", "visits": "several", "consent": "perhaps", "needs": "debt"},
        )
    message = refusal.value.message
    assert message.startswith("Cannot complete risk-assessment: ")
    for expected in (
        '"colour" is not a field of risk-assessment',
        'Visits: "several" is not a whole number',
        'Tenant consent: "perhaps" is not true or false; answer yes or no',
        "Risk level is mandatory: answer with one of: low, medium, high",
    ):
        assert message.count(expected) == 1, expected
    assert message.index('"colour"') < message.index('Visits: "') < message.index('consent: "')
    assert message.index('consent: "') < message.index("Risk level is mandatory")


def test_every_response_type_through_a_case_is_stored_normalised_and_json_safe() -> None:
    case = Case.open(
        visit_type(), case_ref="C-1", tenant_ref="T-9", owner="ann", now=at(0), opened_by="hms"
    )
    case.complete_task("contact", outcome=None, responses=None, note=None, by="ann", now=at(1))
    case.complete_task(
        "home-visit", outcome="visited", responses={}, note=None, by="ann", now=at(2)
    )
    case.complete_task(
        "risk-assessment",
        outcome=None,
        responses={
            "Risk level": "Medium",
            "consent": "yes",
            "arrears": "£1,012.50",
            "visits": "1,200",
            "review": "2026-04-01",
            "seen": "2026-03-02T10:15:00+00:00",
            "needs": "Debt, clutter",
            "notes": " lives alone ",
        },
        note=None,
        by="ann",
        now=at(3),
    )
    expected = {
        "risk-level": "medium",
        "consent": True,
        "arrears": "1012.50",
        "visits": 1200,
        "review": "2026-04-01",
        "seen": "2026-03-02T10:15:00+00:00",
        "needs": ["debt", "clutter"],
        "notes": "lives alone",
    }
    assert case.instance("risk-assessment").responses == expected
    again = CaseState.model_validate_json(case.state.model_dump_json())
    assert again == case.state
    assert again.tasks[2].responses == expected


def test_a_number_outside_the_fields_min_and_max_is_refused():
    task = decision_type().tasks[0]
    assert check_responses(task, {"dependants": "0"}) == {"dependants": 0}
    assert check_responses(task, {"dependants": 30}) == {"dependants": 30}
    with pytest.raises(InvalidResponses) as refused:
        check_responses(task, {"Dependent children": "-1"})
    assert refused.value.message == (
        "Cannot complete assessment: Dependent children: -1 is less than the least allowed, 0"
    )
    with pytest.raises(InvalidResponses, match="31 is more than the most allowed, 30"):
        check_responses(task, {"dependants": 31})


@given(
    low=st.integers(-1000, 1000),
    span=st.integers(0, 1000),
    answer=st.integers(-3000, 3000),
)
def test_min_and_max_accept_exactly_the_numbers_between_them(low: int, span: int, answer: int):
    high = low + span
    task = TaskDefinition.model_validate(
        {
            "id": "t",
            "name": "T",
            "fields": [
                {"id": "n", "label": "N", "response_type": "integer", "min": low, "max": high},
                {"id": "d", "label": "D", "response_type": "decimal", "min": low, "max": high},
            ],
        }
    )
    for field_id, given_answer in (("n", answer), ("d", f"{answer}.00")):
        try:
            check_responses(task, {field_id: given_answer})
        except InvalidResponses:
            accepted = False
        else:
            accepted = True
        assert accepted == (low <= answer <= high)
