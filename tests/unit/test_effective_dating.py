"""Effective dating of a type: periods, what a case opening on a day gets, and the rules of
a type on every day it is in effect.

Periods include both their days (`effective_to` is the last day in effect), as housing
staff read "from 1 April until 31 March".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from definitions.effective import NotInEffect, in_effect, opening_day
from definitions.invariants import check_dated_rules, check_provision_type
from definitions.periods import Period, Standing, View, first_days, standings
from definitions.schema import ProvisionType
from tests.factories import visit_type
from tests.integration.sla_fixtures import england_and_wales

APRIL = date(2027, 4, 1)
MARCH_31 = date(2027, 3, 31)


def dated(**periods: dict[str, str]) -> ProvisionType:
    """The visit assessment with periods on the tasks named (by id)."""
    tasks = [
        {**t.model_dump(exclude_defaults=True), **periods.get(t.id.replace("-", "_"), {})}
        for t in visit_type().tasks
    ]
    return visit_type(tasks=tasks)


def ids(provision_type: ProvisionType) -> list[str]:
    return [t.id for t in provision_type.tasks]


# --- periods --------------------------------------------------------------------------------


def test_a_period_includes_both_its_days() -> None:
    year = Period(APRIL, date(2028, 3, 31))
    assert year.covers(APRIL) and year.covers(date(2028, 3, 31))
    assert not year.covers(MARCH_31) and not year.covers(date(2028, 4, 1))
    assert Period().covers(date.min) and Period().covers(date.max)
    assert Period(end=MARCH_31).overlaps(Period(start=MARCH_31))
    assert not Period(end=MARCH_31).overlaps(Period(start=APRIL))
    assert str(year) == "from 2027-04-01 until 2028-03-31"
    assert (str(Period()), str(Period(start=APRIL)), str(Period(end=MARCH_31))) == (
        "always",
        "from 2027-04-01",
        "until 2027-03-31",
    )


def test_the_three_views_of_a_period() -> None:
    year = Period(APRIL, date(2028, 3, 31))
    assert year.view(MARCH_31) is View.future
    assert year.view(APRIL) is View.current
    assert year.view(date(2028, 3, 31)) is View.current
    assert year.view(date(2028, 4, 1)) is View.expired
    assert Period().view(date(2000, 1, 1)) is View.current


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
periods = st.builds(Period, st.none() | days, st.none() | days).filter(lambda p: p.is_well_formed)


@given(whole=periods, parts=st.lists(periods, max_size=6), day=days)
def test_the_first_days_stand_for_every_day_of_the_period(
    whole: Period, parts: list[Period], day: date
) -> None:
    """On any day of `whole`, the parts in effect are those of the latest first day before
    it (or of the first, for a stretch that reaches back without end)."""
    if not whole.covers(day):
        return
    firsts = first_days(whole, parts)
    if not firsts:
        assert all(p.is_open for p in parts)
        return
    assert all(whole.covers(d) for d in firsts)
    stands_for = max((d for d in firsts if d <= day), default=firsts[0])
    assert stands_for <= day or whole.start is None
    assert [p.covers(day) for p in parts] == [p.covers(stands_for) for p in parts]


def test_a_later_version_supersedes_an_earlier_one_on_the_days_both_cover() -> None:
    published = [Period(), Period(start=APRIL), Period(start=APRIL), Period(end=date(2020, 1, 1))]
    assert standings(published, MARCH_31) == [
        Standing.current,
        Standing.superseded,  # version 3 covers every day version 2 does
        Standing.future,
        Standing.expired,  # the latest publish for the days until 2020
    ]
    assert standings(published, APRIL)[:3] == [
        Standing.expired,
        Standing.superseded,
        Standing.current,
    ]
    assert standings([Period(end=MARCH_31)], APRIL) == [Standing.expired]
    assert standings([], APRIL) == []


# --- the format -------------------------------------------------------------------------------


def test_periods_are_optional_and_written_as_days() -> None:
    assert visit_type().effective_from is None and visit_type().tasks[0].effective_to is None
    from_text = visit_type(effective_from="2027-04-01", effective_to=date(2028, 3, 31))
    assert (from_text.effective_from, from_text.effective_to) == (APRIL, date(2028, 3, 31))
    for wrong in (20270401, "1 April 2027", "2027-04-01T09:00", datetime(2027, 4, 1, 9)):
        with pytest.raises(ValidationError, match="is not a day; write the date alone"):
            visit_type(effective_from=wrong)


def test_a_period_ending_before_it_starts_is_refused_at_its_end() -> None:
    problems = check_provision_type(
        visit_type().model_dump() | {"effective_from": "2027-04-01", "effective_to": "2027-03-01"}
    )
    assert [p.location for p in problems] == ["effective_to"]
    assert "2027-03-01 is before effective_from 2027-04-01" in problems[0].message
    data = visit_type().model_dump()
    data["tasks"][1]["escalations"] = [
        {"id": "nudge", "trigger": "stagnation", "stagnation_after": "5 days", "template": "t"}
        | {"effective_from": "2027-04-01", "effective_to": "2027-03-31"}
    ]
    (problem,) = check_provision_type(data)
    assert problem.location == "tasks[1].escalations[0].effective_to"


# --- what a case opens with -------------------------------------------------------------------


def test_a_type_with_nothing_dated_is_what_a_case_opens_with() -> None:
    provision_type = visit_type()
    assert in_effect(provision_type, APRIL) is provision_type


def test_a_case_gets_the_tasks_and_rules_in_effect_on_the_day_it_opens() -> None:
    rule = {"id": "nudge", "trigger": "stagnation", "stagnation_after": "5 days", "template": "t"}
    provision_type = dated(
        leaflet={"effective_to": "2027-03-31"},
        interpreter={"effective_from": "2027-04-01"},
        contact={"escalations": [rule | {"effective_from": "2027-04-01"}]},
    ).model_copy(update={"escalations": ()})
    before, after = in_effect(provision_type, MARCH_31), in_effect(provision_type, APRIL)
    assert "leaflet" in ids(before) and "interpreter" not in ids(before)
    assert "leaflet" not in ids(after) and "interpreter" in ids(after)
    assert before.task("contact").escalations == ()
    assert [r.id for r in after.task("contact").escalations] == ["nudge"]
    assert after.task("interpreter").effective_from == APRIL  # kept parts keep their period
    assert check_provision_type(before) == [] and check_provision_type(after) == []


def test_type_level_rules_follow_their_periods_too() -> None:
    rule = {"id": "nudge", "trigger": "stagnation", "stagnation_after": "5 days", "template": "t"}
    provision_type = visit_type(escalations=[rule | {"effective_to": "2027-03-31"}])
    assert [r.id for r in in_effect(provision_type, MARCH_31).escalations] == ["nudge"]
    assert in_effect(provision_type, APRIL).escalations == ()


def test_a_day_outside_the_version_counts_as_its_nearest_day() -> None:
    """The version was chosen already: a version starting next month opens as on its first
    day, one that ended as on its last."""
    future = dated(interpreter={"effective_from": "2027-05-01"}).model_copy(
        update={"effective_from": date(2027, 5, 1)}
    )
    assert "interpreter" in ids(in_effect(future, APRIL))
    ended = dated(leaflet={"effective_to": "2027-03-31"}).model_copy(
        update={"effective_to": MARCH_31}
    )
    assert "leaflet" in ids(in_effect(ended, date(2030, 1, 1)))


def test_what_is_in_effect_must_still_be_a_type_a_case_can_run_on() -> None:
    """A type made in code skips validation of its days; opening it then is refused."""
    broken = dated(benefits_check={"effective_to": "2027-03-31"})
    with pytest.raises(NotInEffect, match=r"as in effect on 2027-04-01 breaks") as refused:
        in_effect(broken, APRIL)
    assert isinstance(refused.value, ValueError)  # Case.begin turns it into CaseNotStarted
    assert '"benefits-check" is not a task of this type' in str(refused.value)


def test_the_opening_day_is_in_the_time_zone_of_the_calendar() -> None:
    late_evening = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 April in London
    working = visit_type(calendar="england-and-wales", resolved_calendar=england_and_wales())
    assert opening_day(working, late_evening) == APRIL
    assert opening_day(visit_type(), late_evening) == APRIL  # around the clock: London too
    assert opening_day(visit_type(), datetime(2027, 1, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 31)


# --- the rules on every day -------------------------------------------------------------------


def located(problems: list[Any]) -> dict[str, str]:
    return {p.location: p.message for p in problems}


def test_a_type_meets_its_rules_on_every_day_it_is_in_effect() -> None:
    succession = dated(
        benefits_check={"effective_to": "2027-03-31"},
        agree_plan={"effective_to": "2027-03-31"},
        interpreter={"effective_from": "2027-04-01"},
    )
    assert check_dated_rules(succession) == []
    assert check_dated_rules(visit_type()) == []


def test_a_task_in_effect_may_not_wait_for_one_that_is_not() -> None:
    data = dated(benefits_check={"effective_to": "2027-03-31"}).model_dump(exclude_defaults=True)
    data["tasks"][4]["depends_on"] = ["risk-assessment", "benefits-check"]  # plain ids
    found = located(check_dated_rules(data))
    assert list(found) == ["tasks[4].depends_on[1]"]
    assert found["tasks[4].depends_on[1]"].startswith(
        '"benefits-check" is not in effect on 2027-04-01 (it is until 2027-03-31), but this task is'
    )


def test_a_path_may_not_add_a_task_that_is_not_in_effect() -> None:
    provision_type = dated(check_in={"effective_from": "2027-04-01"})
    found = located(check_dated_rules(provision_type))
    assert list(found) == ["tasks[1].outcomes[1].adds_tasks[0]"]
    assert (
        'adds "check-in", which is not in effect on 2027-03-31 (it is from 2027-04-01)'
        in (found["tasks[1].outcomes[1].adds_tasks[0]"])
    )


def test_some_task_in_effect_must_be_automatic_on_every_day() -> None:
    automatic = ["contact", "home_visit", "risk_assessment", "benefits_check", "agree_plan"]
    periods = {task: {"effective_from": "2027-04-01"} for task in [*automatic, "leaflet"]}
    periods["home_visit"]["depends_on"] = []  # type: ignore[assignment]
    data = dated(**periods).model_dump(exclude_defaults=True)
    data["tasks"][1]["depends_on"] = ["contact"]
    found = located(check_dated_rules(data))
    assert list(found) == ["tasks"]
    assert found["tasks"].startswith("no task in effect on 2027-03-31 is automatic")

    data["tasks"] = [t | {"effective_to": "2026-12-31"} for t in data["tasks"]]
    data["tasks"] = [{k: v for k, v in t.items() if k != "effective_from"} for t in data["tasks"]]
    data["effective_to"] = "2027-06-30"
    found = located(check_dated_rules(data))
    assert found["tasks"].startswith("no task is in effect on 2027-01-01, while the type is")


def test_a_part_never_in_effect_within_its_type_is_a_problem() -> None:
    data = dated(leaflet={"effective_from": "2028-01-01"}).model_dump(exclude_defaults=True)
    data["effective_to"] = "2027-12-31"
    found = located(check_dated_rules(data))
    assert list(found) == ["tasks[5].effective_from"]
    assert found["tasks[5].effective_from"] == (
        "the task is in effect from 2028-01-01 and its type until 2027-12-31, so the task is "
        "never part of a case; correct its dates or remove it"
    )


def test_each_dated_problem_is_reported_once_with_the_first_day_it_happens() -> None:
    provision_type = dated(
        benefits_check={"effective_to": "2027-03-31"},
        leaflet={"effective_to": "2027-09-30"},
        interpreter={"effective_from": "2028-01-01"},
    )
    problems = check_dated_rules(provision_type)
    assert [p.location for p in problems] == ["tasks[4].depends_on[1].task"]
    assert "on 2027-04-01" in problems[0].message
