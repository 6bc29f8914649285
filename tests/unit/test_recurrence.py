"""Recurring tasks in the case model: occurrences, their series, and how series end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casemodel import errors
from casemodel.case import Case
from casemodel.rules import PILE_UP_2026_12
from casemodel.state import MAX_IN_PROGRESS, CaseStatus, TaskStatus
from tests.factories import T0, recurring_type

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)


def open_case(recurrence: dict[str, object] | None = None, **overrides: object) -> Case:
    case = Case.open(
        recurring_type(recurrence, **overrides),
        case_ref="R-1",
        tenant_ref="T-1",
        owner="ann",
        now=T0,
        opened_by="hms",
    )
    case.complete_task("intake", outcome=None, responses=None, note=None, by="ann", now=T0)
    return case


def see(case: Case, key: str, at, outcome: str = "seen") -> None:  # type: ignore[no-untyped-def]
    case.complete_task(key, outcome=outcome, responses=None, note=None, by="ann", now=at)


def statuses(case: Case) -> dict[str, str]:
    return {t.key: t.status.value for t in case.state.tasks}


def test_first_occurrence_opens_with_its_dependencies_and_the_next_waits_its_turn() -> None:
    case = open_case()
    first, second = case.instance("check-in"), case.instance("check-in#2")
    assert (first.status, first.occurrence, first.opened_at) == (TaskStatus.open, 1, T0)
    assert (second.status, second.occurrence, second.opens_at) == (
        TaskStatus.blocked,
        2,
        T0 + WEEK,
    )
    assert case.waiting_for(second, T0) == ["the next occurrence, due 2026-03-09 09:00 UTC"]
    case.tick(T0 + DAY * 3)  # check-in's breach rule fires at its target, two days in
    assert case.next_due(T0 + DAY * 3) == (T0 + WEEK, "occurrence check-in#2 falls due")
    series = case.series_of("check-in")
    assert series is not None and series.first_at == T0 and series.occurrences == 2


def test_schedule_cadence_opens_on_time_even_while_the_last_is_open_and_late() -> None:
    case = open_case()
    case.tick(T0 + WEEK)
    assert statuses(case)["check-in"] == "open"  # never done: late on its own clock
    assert case.instance("check-in#2").status is TaskStatus.open
    assert case.instance("check-in#2").opened_at == T0 + WEEK
    assert case.instance("check-in#3").opens_at == T0 + 2 * WEEK
    late = [c.subject for c in case.running_clocks(T0 + WEEK) if c.state.value == "breached"]
    assert late == ["check-in"]


def test_a_late_completion_does_not_move_a_schedule_cadence() -> None:
    case = open_case()
    see(case, "check-in", T0 + 5 * DAY)
    case.tick(T0 + WEEK)
    see(case, "check-in#2", T0 + WEEK + 6 * DAY)
    assert case.instance("check-in#3").opens_at == T0 + 2 * WEEK


def test_completion_cadence_counts_from_the_last_completion() -> None:
    case = open_case({"every": "1 week", "times": 3, "from": "completion"})
    assert [t.key for t in case.state.tasks if t.task == "check-in"] == ["check-in"]
    see(case, "check-in", T0 + 3 * DAY)
    nxt = case.instance("check-in#2")
    assert nxt.opens_at == T0 + 3 * DAY + WEEK and nxt.added_by_task == "check-in"
    case.tick(T0 + 3 * DAY + WEEK)
    assert nxt.status is TaskStatus.open


def test_times_ends_the_series_and_then_dependants_open() -> None:
    case = open_case()
    for n in range(4):
        key = "check-in" if n == 0 else f"check-in#{n + 1}"
        case.tick(T0 + n * WEEK)
        assert case.instance("review").status is TaskStatus.blocked
        see(case, key, T0 + n * WEEK + DAY)
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "times" and series.occurrences == 4
    assert case.instance("review").status is TaskStatus.open
    assert [t.key for t in case.state.tasks if t.task == "check-in"] == [
        "check-in",
        "check-in#2",
        "check-in#3",
        "check-in#4",
    ]


def test_for_bounds_the_series_by_a_period_from_the_first_occurrence() -> None:
    case = open_case({"every": "1 week", "for": "3 weeks"})
    for n in range(3):
        case.tick(T0 + n * WEEK)
    series = case.series_of("check-in")
    assert series is not None and series.ended and series.end_reason == "for"
    assert series.occurrences == 3  # weeks 0, 1, 2: week 3 is the period's end


def test_until_outcome_ends_the_series_on_the_occurrence_that_records_it() -> None:
    case = open_case({"every": "1 week", "until_outcome": "settled"})
    case.tick(T0 + WEEK)
    see(case, "check-in", T0 + WEEK)
    see(case, "check-in#2", T0 + WEEK + DAY, outcome="settled")
    assert case.instance("check-in#3").status is TaskStatus.cancelled
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "outcome"
    assert case.instance("review").status is TaskStatus.open
    with pytest.raises(errors.CannotUndo, match="ended the series"):
        case.check_undo("check-in#2")


def test_stop_recurrence_is_audited_and_refused_where_there_is_no_series() -> None:
    case = open_case({"every": "1 week", "until_outcome": "settled"})
    with pytest.raises(errors.NotRecurring, match="does not recur"):
        case.check_stop_recurrence("review", "done")
    entries = case.stop_recurrence("check-in", reason="moved away", by="tom", now=T0 + DAY)
    kinds = [(e.kind, e.task_key, e.by) for e in entries]
    assert ("recurrence_stopped", None, "tom") in kinds
    assert ("task_cancelled", "check-in#2", "tom") in kinds
    assert case.instance("check-in").status is TaskStatus.open  # fell due: still work
    with pytest.raises(errors.NotRecurring, match="already ended"):
        case.check_stop_recurrence("check-in", "again")


def test_cancelling_an_occurrence_ends_its_series_and_asks_before_taking_dependants() -> None:
    case = open_case()
    with pytest.raises(errors.HasDependants, match="review"):
        case.check_cancel("check-in", cascade=False)
    see(case, "check-in", T0 + DAY)
    case.cancel_task("check-in#2", cascade=False, reason="no longer needed", by="tom", now=T0 + DAY)
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "cancelled"
    assert case.instance("review").status is TaskStatus.open


def test_pausing_moves_the_next_occurrence_on_by_the_paused_time() -> None:
    case = open_case()
    case.pause(reason="tenant in hospital", by="tom", now=T0 + DAY)
    assert case.tick(T0 + WEEK) == [] and case.next_due(T0 + WEEK) is None
    case.resume(by="tom", now=T0 + 3 * DAY)
    assert case.instance("check-in#2").opens_at == T0 + WEEK + 2 * DAY
    case.tick(T0 + WEEK + 2 * DAY)
    assert case.instance("check-in#3").opens_at == T0 + 2 * WEEK + 2 * DAY


def test_a_mandatory_series_holds_the_case_open_and_closing_ends_it() -> None:
    case = open_case({"every": "1 week", "until_outcome": "settled"})
    see(case, "check-in", T0 + DAY)
    assert case.state.status is CaseStatus.open
    case.close(outcome=None, reason="moved", by="tom", now=T0 + 2 * DAY)
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "case closed"
    assert case.instance("check-in#2").status is TaskStatus.cancelled


def test_a_worker_away_for_weeks_opens_each_missed_occurrence_once_on_its_own_clock() -> None:
    case = open_case()
    case.tick(T0 + 3 * WEEK + DAY)
    opened = {t.key: t.opened_at for t in case.state.tasks if t.task == "check-in"}
    assert opened == {
        "check-in": T0,
        "check-in#2": T0 + WEEK,
        "check-in#3": T0 + 2 * WEEK,
        "check-in#4": T0 + 3 * WEEK,
    }
    fired = [f.subject for f in case.state.firings]
    assert sorted(fired) == ["check-in", "check-in#2", "check-in#3"]  # #4 is not late yet


def test_a_series_survives_continue_as_new() -> None:
    case = open_case()
    case.tick(T0 + WEEK)
    carried = case.carry(case.state.last_seq, unconfirmed=[], keep=(), budget=1000)
    assert carried is not None
    again = Case(type(carried.state).model_validate_json(carried.state.model_dump_json()))
    again.tick(T0 + 3 * WEEK)
    assert [t.key for t in again.state.tasks if t.task == "check-in"][-1] == "check-in#4"
    series = again.series_of("check-in")
    assert series is not None and series.occurrences == 4 and series.end_reason == "times"


def test_undoing_a_completion_takes_back_the_occurrence_it_planned() -> None:
    case = open_case({"every": "1 week", "times": 2, "from": "completion"})
    see(case, "check-in", T0 + DAY)
    case.undo_completion("check-in", reason="wrong case", by="ann", now=T0 + DAY)
    assert case.instance("check-in#2").status is TaskStatus.cancelled
    series = case.series_of("check-in")
    assert series is not None and series.occurrences == 1 and series.next_at is None
    see(case, "check-in", T0 + 2 * DAY)
    again = case.instance("check-in#3")
    assert (again.occurrence, again.opens_at) == (2, T0 + 2 * DAY + WEEK)
    case.tick(T0 + 2 * DAY + WEEK)
    see(case, "check-in#3", T0 + 3 * DAY + WEEK)
    assert case.series_of("check-in").end_reason == "times"  # type: ignore[union-attr]


def test_a_dependency_undone_and_done_again_does_not_add_a_second_next_occurrence() -> None:
    case = open_case()
    case.undo_completion("intake", reason="wrong tenant", by="ann", now=T0 + DAY)
    assert case.instance("check-in").status is TaskStatus.blocked
    case.complete_task("intake", outcome=None, responses=None, note=None, by="ann", now=T0 + DAY)
    occurrences = [
        (t.key, t.occurrence, t.status.value) for t in case.state.tasks if t.task == "check-in"
    ]
    assert occurrences == [("check-in", 1, "open"), ("check-in#2", 2, "blocked")]
    series = case.series_of("check-in")
    assert series is not None and series.occurrences == 2


def test_cancelling_an_open_occurrence_needs_no_cascade_for_the_one_still_to_come() -> None:
    case = open_case()
    see(case, "check-in", T0 + DAY)
    case.tick(T0 + WEEK)
    entries = case.cancel_task("check-in#2", cascade=False, reason="moved", by="tom", now=T0 + WEEK)
    cancelled = [e.task_key for e in entries if e.kind == "task_cancelled"]
    assert sorted(cancelled) == ["check-in#2", "check-in#3"]
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "cancelled" and series.occurrences == 2


def test_cancelling_the_occurrence_still_to_come_keeps_the_reason_and_ends_the_series() -> None:
    case = open_case()
    see(case, "check-in", T0 + DAY)
    case.cancel_task("check-in#2", cascade=False, reason="tenant moved", by="tom", now=T0 + DAY)
    waiting = case.instance("check-in#2")
    assert (waiting.status, waiting.note) == (TaskStatus.cancelled, "tenant moved")
    entry = next(e for e in case.state.log if e.kind == "task_cancelled")
    assert (entry.task_key, entry.detail) == ("check-in#2", "tenant moved")
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "cancelled" and series.occurrences == 1
    assert case.instance("review").status is TaskStatus.open


def test_a_series_a_person_stopped_stays_stopped_when_what_it_depends_on_is_done_again() -> None:
    case = open_case()
    case.stop_recurrence("check-in", reason="plan changed", by="tom", now=T0 + DAY)
    case.undo_completion("intake", reason="wrong tenant", by="ann", now=T0 + 2 * DAY)
    case.complete_task(
        "intake", outcome=None, responses=None, note=None, by="ann", now=T0 + 2 * DAY
    )
    series = case.series_of("check-in")
    assert series is not None and series.end_reason == "stopped"
    occurrences = [(t.key, t.status.value) for t in case.state.tasks if t.task == "check-in"]
    assert occurrences == [("check-in", "open"), ("check-in#2", "cancelled")]  # none added

    # Before the rule, the series began again (a history from then replays so).
    old = open_case()
    old.since = lambda _: False
    old.stop_recurrence("check-in", reason="plan changed", by="tom", now=T0 + DAY)
    old.undo_completion("intake", reason="wrong tenant", by="ann", now=T0 + 2 * DAY)
    old.complete_task("intake", outcome=None, responses=None, note=None, by="ann", now=T0 + 2 * DAY)
    again = old.series_of("check-in")
    assert again is not None and not again.ended


def _weekly_nobody_works(asked: list[str] | None = None) -> Case:
    """A weekly check-in for ten years that nobody completes, ticked week by week."""
    case = open_case({"every": "1 week", "for": "520 weeks"})
    if asked is not None:
        case.since = lambda rule: asked.append(rule) is None and rule != PILE_UP_2026_12
    for week in range(1, 260):
        case.tick(T0 + week * WEEK)
    return case


def test_a_series_nobody_works_ends_at_the_tasks_a_plan_may_hold():
    case = _weekly_nobody_works()
    assert len(case.in_progress()) == MAX_IN_PROGRESS
    series = case.series_of("check-in")
    assert series is not None and series.ended and series.end_reason == "limit"
    [ended] = [e for e in case.state.log if e.kind == "series_ended"]
    assert ended.detail == (
        f"check-in: the case has {MAX_IN_PROGRESS} tasks in progress, as many as a plan may "
        "hold; its occurrences still open stay open"
    )
    assert case.upcoming("check-in") is None, "no occurrence is waiting to fall due"
    with pytest.raises(errors.NotAllowed, match="200 tasks in progress"):
        case.check_add("check-in")


def test_a_series_that_piled_up_before_the_rule_replays_as_it_ran():
    asked: list[str] = []
    case = _weekly_nobody_works(asked)
    assert len(case.in_progress()) > MAX_IN_PROGRESS, "the rules before it had no limit"
    assert set(asked) == {PILE_UP_2026_12}, "asked only where the limit decides"
