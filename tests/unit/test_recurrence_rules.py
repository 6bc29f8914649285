"""The rules a recurring task meets, and durations compared when months are in them.

A recurrence must end (`times`, `for` or `until_outcome`), end on an outcome its task has,
and count in durations; `check_provision_type` refuses it otherwise, at the field, for a
model and for raw data alike. A warning period must be shorter than its target: months
have no fixed length, so they are compared by the fewest and most days they can span, and
only a warning that is at least the target wherever the clock starts is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from definitions.durations import Duration, DurationUnit, parse_duration
from definitions.invariants import (
    _month_span_days,
    _shorter,
    check_provision_type,
    check_publishing_rules,
)
from definitions.loader import validate_catalog
from definitions.schema import ProvisionType
from tests.catalogs.broken import TYPE_FILE, valid_type, write_valid_catalog


def a_type(recurrence: Any, **task: Any) -> dict[str, Any]:
    check_in = {
        "id": "check-in",
        "name": "Check-in",
        "outcomes": [
            {"id": "settled", "label": "Tenancy settled"},
            {"id": "concern", "label": "Concern raised"},
        ],
        "recurrence": recurrence,
    } | task
    return {
        "id": "plan",
        "name": "Plan",
        "category": "support_plan",
        "audience": "customer_facing",
        "tasks": [{"id": "start", "name": "Start"}, check_in],
    }


def located(data: dict[str, Any]) -> dict[str, str]:
    return {p.location: p.message for p in check_provision_type(data)}


@pytest.mark.parametrize(
    "recurrence",
    [
        {"every": "1 week", "times": 12},
        {"every": "1 month", "for": "36 months"},
        {"every": "2 weeks", "until_outcome": "settled"},
        {"every": "5 working days", "times": 4, "for": "3 months", "until_outcome": "settled"},
        {"every": "1 month", "until_outcome": "settled", "from": "completion"},
    ],
)
def test_a_recurrence_with_an_end_is_accepted(recurrence: dict[str, Any]) -> None:
    data = a_type(recurrence)
    assert located(data) == {}
    provision_type = ProvisionType.model_validate(data)
    assert check_provision_type(provision_type) == []
    assert check_publishing_rules(provision_type) == []


@pytest.mark.parametrize(
    ("recurrence", "location", "fragment"),
    [
        ({"every": "1 week"}, "tasks[1].recurrence", "a recurrence needs an end"),
        (
            {"every": "1 week", "from": "completion"},
            "tasks[1].recurrence",
            "give `times` (that many occurrences), `for`",
        ),
        (
            {"every": "1 week", "until_outcome": "setled"},
            "tasks[1].recurrence.until_outcome",
            '"setled" is not an outcome of this task (did you mean "settled"?); its outcomes '
            "are: settled, concern",
        ),
        (
            {"every": "1 fortnight", "times": 3},
            "tasks[1].recurrence.every",
            '"1 fortnight" is not a duration',
        ),
        ({"every": "0 weeks", "times": 3}, "tasks[1].recurrence.every", "at least 1"),
        (
            {"every": "1 week", "for": "three months"},
            "tasks[1].recurrence.for",
            '"three months" is not a duration',
        ),
        (
            {"every": "1 week", "for": "121 months"},
            "tasks[1].recurrence.for",
            "at most 120 months",
        ),
    ],
)
def test_a_broken_recurrence_is_refused_at_its_field(
    recurrence: dict[str, Any], location: str, fragment: str
) -> None:
    data = a_type(recurrence)
    problems = located(data)
    assert fragment in problems[location], problems
    with pytest.raises(ValidationError) as refused:
        ProvisionType.model_validate(data)
    assert location in str(refused.value)


def test_until_outcome_on_a_task_without_outcomes_says_so() -> None:
    data = a_type({"every": "1 week", "until_outcome": "settled"}, outcomes=[])
    message = located(data)["tasks[1].recurrence.until_outcome"]
    assert message.startswith("the task has no outcomes, so no occurrence could be completed")


def test_an_outcome_of_another_task_does_not_end_a_series() -> None:
    data = a_type({"every": "1 week", "until_outcome": "done"})
    data["tasks"][0]["outcomes"] = [{"id": "done", "label": "Done"}]
    assert (
        '"done" is not an outcome of this task'
        in located(data)["tasks[1].recurrence.until_outcome"]
    )


def test_every_problem_of_a_recurrence_is_reported_at_once() -> None:
    data = a_type({"every": "weekly", "for": "ever", "until_outcome": "never"})
    assert {
        "tasks[1].recurrence.every",
        "tasks[1].recurrence.for",
        "tasks[1].recurrence.until_outcome",
    } <= set(located(data))


def test_a_working_interval_is_bounded_by_its_calendar() -> None:
    from definitions.calendars import WorkingTimeCalendarDefinition

    sparse = WorkingTimeCalendarDefinition.model_validate(
        {
            "id": "one-hour-a-week",
            "name": "One hour a week",
            "kind": "working_time",
            "timezone": "Europe/London",
            "working_days": ["monday"],
            "opens": "09:00",
            "closes": "10:00",
            "bank_holidays": None,
        }
    )
    data = a_type({"every": "2000 working hours", "times": 2})
    problems = {p.location: p.message for p in check_provision_type(data, calendar=sparse)}
    assert "would run for about 38 years" in problems["tasks[1].recurrence.every"]


# -- months against other units -------------------------------------------------------------


@pytest.mark.parametrize(
    ("warning", "target", "shorter"),
    [
        ("1 month", "2 months", True),
        ("2 months", "2 months", False),
        ("4 weeks", "1 month", True),  # shorter except in February of a common year
        ("31 days", "1 month", False),  # never shorter: no month is longer
        ("1 month", "28 days", False),
        ("1 month", "29 days", True),  # February
        ("1 month", "5 weeks", True),
        ("744 hours", "1 month", True),  # 31 days, and the hour the clocks go back
        ("745 hours", "1 month", False),
        ("12 months", "365 days", False),
        ("12 months", "366 days", True),  # a year with 29 February
        ("1 month", "10 working days", True),  # only a calendar could tell
        ("20 working days", "1 month", True),
    ],
)
def test_months_compare_conservatively(warning: str, target: str, shorter: bool) -> None:
    assert _shorter(parse_duration(warning), parse_duration(target)) is shorter


def test_a_warning_in_months_not_shorter_than_its_target_is_refused() -> None:
    data = a_type({"every": "1 week", "times": 2})
    data["sla"] = {"target": "1 month", "warning": "31 days"}
    problems = {p.location: p.message for p in check_publishing_rules(data)}
    assert "is not shorter than the target" in problems["sla.warning"]
    data["sla"] = {"target": "2 months", "warning": "1 month"}
    assert check_publishing_rules(data) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 120), st.dates(date(1990, 1, 1), date(2200, 12, 31)))
def test_the_month_bounds_hold_for_any_start(months: int, start: date) -> None:
    shortest, longest = _month_span_days(months)
    span = (start + relativedelta(months=months) - start).days
    assert shortest <= span <= longest


def test_the_month_bounds_are_the_known_ones() -> None:
    assert _month_span_days(1) == (28, 31)
    assert _month_span_days(12) == (365, 366)
    # Ten years around 2100, which is not a leap year, hold one 29 February only.
    assert _month_span_days(120)[0] == 3651
    assert Duration(1, DurationUnit.MONTHS).has_fixed_length is False
    assert timedelta(days=_month_span_days(3)[1]) == timedelta(days=92)


# -- through the loader: located as the file writes it --------------------------------------


def test_the_loader_names_recurrence_keys_as_the_file_writes_them(tmp_path: Path) -> None:
    root = write_valid_catalog(tmp_path / "defs")
    data = valid_type()
    data["tasks"][0]["recurrence"] = {"every": 7, "for": "3 months", "colour": "red"}
    (root / TYPE_FILE).write_text(yaml.safe_dump(data), encoding="utf-8")
    _, problems = validate_catalog(root)
    found = {p.location: p.message for p in problems if p.file == TYPE_FILE}
    assert found["tasks[0].recurrence.every"] == "expected text, got 7; put it in quotes"
    assert found["tasks[0].recurrence.colour"] == (
        'unexpected key "colour"; allowed keys here are: every, times, for, until_outcome, from'
    )
