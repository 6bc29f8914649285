"""SLA clocks, worked out by hand: when they start, warn and fall due, and how pauses,
holds and revised targets move them.

Minute-scale cases run on `sla_type()` (around the clock, opened at `at(0)`, Monday
2026-03-02 09:00 UTC): the case is due at 60 (warning 50), `contact` at 5 (warning 4),
`review` opens 2 minutes after `contact` completes. Office-hours cases run on
`working_type()`, counted in the shipped england-and-wales calendar (09:00-17:00 local,
Monday to Friday, bank holidays closed).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casemodel.case import Case
from casemodel.sla import Clock, ClockState
from definitions.schema import ProvisionType
from tests.factories import at, sla_type, working_type
from tests.factories import complete_at as complete
from tests.factories import open_sla_case as open_case

ON_TRACK, WARNING, BREACHED = ClockState.on_track, ClockState.warning, ClockState.breached
PAUSED, MET, MISSED = ClockState.paused, ClockState.met, ClockState.missed


def clock(case: Case, subject: str, now: datetime) -> Clock:
    found = {c.subject: c for c in case.clocks(now)}
    assert subject in found, f"no clock for {subject}; clocks: {list(found)}"
    return found[subject]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def with_sla(task: int, sla: dict | None, **overrides: object) -> ProvisionType:
    """`sla_type()` with the SLA of its `task`-th task replaced."""
    data = sla_type(**overrides).model_dump(mode="json")
    data["tasks"][task]["sla"] = sla
    return ProvisionType.model_validate(data)


# -- starting ------------------------------------------------------------------------------


def test_case_and_open_task_clocks_start_when_the_case_opens():
    case = open_case()
    c, contact = clock(case, "case", at(0)), clock(case, "contact", at(0))
    assert (c.started_at, c.warning_at, c.due_at) == (at(0), at(50), at(60))
    assert (contact.started_at, contact.warning_at, contact.due_at) == (at(0), at(4), at(5))
    assert str(contact.target) == "5 minutes" and str(contact.warning) == "1 minute"
    assert c.calendar == "24x7" and c.running and not c.revised


def test_a_blocked_task_has_no_clock_until_it_opens():
    case = open_case(with_sla(1, {"target": "10 minutes", "warning": "3 minutes"}))
    assert [c.subject for c in case.clocks(at(1))] == ["case", "contact"]
    complete(case, "contact", at(3))
    assert [c.subject for c in case.clocks(at(4))] == ["case", "contact"]  # lag until 5
    case.tick(at(5))
    review = clock(case, "review", at(5))
    assert (review.started_at, review.warning_at, review.due_at) == (at(5), at(12), at(15))


def test_tasks_without_an_sla_have_no_clock():
    case = open_case()
    complete(case, "contact", at(1))
    case.tick(at(3))
    assert case.state.tasks[1].status.value == "open"
    assert [c.subject for c in case.clocks(at(3))] == ["case", "contact"]


def test_a_type_without_a_case_sla_has_only_task_clocks():
    case = open_case(sla_type(sla=None, escalations=[]))
    assert [c.subject for c in case.clocks(at(0))] == ["contact"]


# -- warning point -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "warning", "warning_at"),
    [
        ("60 minutes", "10 minutes", at(50)),  # same unit
        ("2 hours", "30 minutes", at(90)),  # mixed units
        ("1 day", "6 hours", at(18 * 60)),
        ("3 hours", "1 hour", at(120)),
        ("5 minutes", "5 minutes", at(0)),  # as long as the target: warns at once
        ("5 minutes", "10 minutes", at(0)),  # longer than the target: never before the start
        ("30 minutes", "1 hour", at(0)),  # longer, mixed units
        ("60 minutes", None, None),
    ],
)
def test_the_warning_point_is_the_target_less_the_warning(target, warning, warning_at):
    sla = {"target": target} | ({"warning": warning} if warning else {})
    case = open_case(with_sla(0, sla))
    assert clock(case, "contact", at(0)).warning_at == warning_at


def test_the_warning_point_in_working_time_with_mixed_units():
    # 2 working days from Monday 10:00 is Wednesday 10:00; 4 working hours before it is
    # Tuesday 14:00.
    data = working_type().model_dump(mode="json")
    data["tasks"][0]["sla"] = {"target": "2 working days", "warning": "4 working hours"}
    case = open_case(ProvisionType.model_validate(data), utc(2026, 3, 2, 10))
    assess = clock(case, "assess", utc(2026, 3, 2, 10))
    assert (assess.warning_at, assess.due_at) == (utc(2026, 3, 3, 14), utc(2026, 3, 4, 10))


# -- states --------------------------------------------------------------------------------


def test_states_run_on_track_warning_breached():
    case = open_case()
    seen = [clock(case, "contact", t).state for t in (at(0), at(3), at(4), at(4.5), at(5))]
    assert seen == [ON_TRACK, ON_TRACK, WARNING, WARNING, BREACHED]
    assert clock(case, "contact", at(4) - timedelta(seconds=1)).state is ON_TRACK
    assert [case.sla_state(t) for t in (at(3), at(4), at(5), at(500))] == [
        ON_TRACK,
        WARNING,
        BREACHED,
        BREACHED,
    ]


def test_a_clock_without_warning_goes_straight_to_breached():
    case = open_case(with_sla(0, {"target": "5 minutes"}))
    assert [clock(case, "contact", t).state for t in (at(4), at(5))] == [ON_TRACK, BREACHED]


def test_a_task_resolved_by_its_target_met_it():
    case = open_case()
    complete(case, "contact", at(5))  # exactly at the target still meets it
    contact = clock(case, "contact", at(30))
    assert (contact.state, contact.stopped_at, contact.running) == (MET, at(5), False)


def test_a_task_resolved_after_its_target_missed_it():
    case = open_case()
    complete(case, "contact", at(7))
    assert clock(case, "contact", at(8)).state is MISSED
    # A stopped clock does not count towards the case state; the case clock runs on.
    assert case.sla_state(at(8)) is ON_TRACK


@pytest.mark.parametrize("cancelled_at", [3, 8], ids=["before its target", "after it"])
def test_a_cancelled_task_stops_its_clock_neither_met_nor_missed(cancelled_at: int):
    """Work called off is not work done in time: reports of what met its SLA leave it out.
    Its due point stays, so whether it had fallen due can still be read."""
    case = open_case()
    case.cancel_task("contact", cascade=True, reason="duplicate", by="ann", now=at(cancelled_at))
    contact = clock(case, "contact", at(10))
    assert (contact.state, contact.stopped_at, contact.running) == (
        ClockState.cancelled,
        at(cancelled_at),
        False,
    )
    assert contact.due_at == at(5)
    assert case.sla_state(at(10)) is ON_TRACK  # the case's own clock runs on


def test_the_case_clock_stops_when_the_case_completes_or_closes():
    case = open_case()
    complete(case, "contact", at(1))
    case.tick(at(3))
    complete(case, "review", at(30))
    assert case.state.status.value == "completed"
    assert (clock(case, "case", at(90)).state, case.sla_state(at(90))) == (MET, MET)

    late = open_case()
    late.close(outcome=None, reason="moved away", by="ann", now=at(61))
    assert (clock(late, "case", at(90)).state, late.sla_state(at(90))) == (MISSED, MISSED)


# -- pauses --------------------------------------------------------------------------------


def test_every_clock_is_paused_while_the_case_is_paused():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(2))
    assert {c.subject: c.state for c in case.clocks(at(30))} == {
        "case": PAUSED,
        "contact": PAUSED,
    }
    assert case.sla_state(at(30)) is PAUSED


def test_resuming_moves_due_and_warning_points_by_the_paused_time():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(2))
    case.resume(by="ann", now=at(12))
    c, contact = clock(case, "case", at(12)), clock(case, "contact", at(12))
    assert (contact.warning_at, contact.due_at) == (at(14), at(15))
    assert (c.warning_at, c.due_at) == (at(60), at(70))
    assert [clock(case, "contact", t).state for t in (at(13), at(14), at(15))] == [
        ON_TRACK,
        WARNING,
        BREACHED,
    ]
    assert case.state.log[-1].detail == "paused for 0:10:00"


def test_a_pause_after_the_warning_point_moves_only_the_due_point():
    case = open_case()
    case.pause(reason="awaiting partner agency", by="ann", now=at(4.5))
    case.resume(by="ann", now=at(10.5))
    contact = clock(case, "contact", at(10.5))
    assert (contact.warning_at, contact.due_at, contact.state) == (at(4), at(11), WARNING)


def test_a_pause_after_the_target_does_not_unbreach():
    case = open_case()
    case.pause(reason="awaiting partner agency", by="ann", now=at(6))
    case.resume(by="ann", now=at(10))
    assert clock(case, "contact", at(10)).due_at == at(5)
    assert clock(case, "contact", at(10)).state is BREACHED
    assert clock(case, "case", at(10)).due_at == at(64)


def test_several_pauses_add_up():
    case = open_case()
    for start, end in ((1, 3), (10, 11), (20, 30)):
        case.pause(reason="tenant away", by="ann", now=at(start))
        case.resume(by="ann", now=at(end))
    assert clock(case, "case", at(30)).due_at == at(60 + 2 + 1 + 10)
    assert clock(case, "contact", at(30)).due_at == at(5 + 2)  # breached at 7, before 10


def test_a_case_closed_while_paused_is_judged_on_the_time_that_counted():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(1))
    case.close(outcome=None, reason="moved away", by="ann", now=at(100))
    c = clock(case, "case", at(200))
    assert (c.due_at, c.state) == (at(159), MET)
    assert case.sla_state(at(200)) is MET  # not "paused": the case is closed


# -- holds ---------------------------------------------------------------------------------


def test_a_held_task_clock_is_paused_and_the_case_clock_runs_on():
    case = open_case()
    case.hold_task("contact", reason="tenant asked to wait", by="ann", now=at(2))
    assert clock(case, "contact", at(30)).state is PAUSED
    assert clock(case, "case", at(55)).state is WARNING
    assert case.sla_state(at(30)) is ON_TRACK
    case.release_task("contact", by="ann", now=at(7))
    contact = clock(case, "contact", at(7))
    assert (contact.warning_at, contact.due_at, contact.state) == (at(9), at(10), ON_TRACK)
    assert clock(case, "case", at(7)).due_at == at(60)


def test_a_hold_overlapping_a_pause_counts_once():
    case = open_case()
    case.hold_task("contact", reason="waiting for interpreter", by="ann", now=at(1))
    case.pause(reason="tenant in hospital", by="ann", now=at(2))
    case.resume(by="ann", now=at(3))
    case.release_task("contact", by="ann", now=at(4))
    assert clock(case, "contact", at(4)).due_at == at(8)  # stopped 1-4: 3 minutes
    assert clock(case, "case", at(4)).due_at == at(61)


def test_a_pause_overlapping_a_hold_counts_once():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(1))
    case.hold_task("contact", reason="waiting for interpreter", by="ann", now=at(2))
    case.resume(by="ann", now=at(5))
    case.release_task("contact", by="ann", now=at(6))
    assert clock(case, "contact", at(6)).due_at == at(10)  # stopped 1-6
    assert clock(case, "case", at(6)).due_at == at(64)


def test_a_hold_then_a_separate_pause_both_count():
    case = open_case()
    case.hold_task("contact", reason="waiting for interpreter", by="ann", now=at(1))
    case.release_task("contact", by="ann", now=at(2))
    case.pause(reason="tenant in hospital", by="ann", now=at(3))
    case.resume(by="ann", now=at(4))
    assert clock(case, "contact", at(4)).due_at == at(7)
    assert clock(case, "case", at(4)).due_at == at(61)


def test_a_task_completed_while_held_is_judged_on_the_time_that_counted():
    case = open_case()
    case.hold_task("contact", reason="tenant asked to wait", by="ann", now=at(1))
    complete(case, "contact", at(10))
    contact = clock(case, "contact", at(10))
    assert (contact.due_at, contact.state) == (at(14), MET)


# -- revised targets -----------------------------------------------------------------------


def test_a_revised_target_moves_the_due_and_warning_points():
    case = open_case()
    case.revise_target("case", due_at=at(120), reason="tenant agreed", by="lead", now=at(10))
    c = clock(case, "case", at(10))
    assert (c.warning_at, c.due_at, c.revised) == (at(110), at(120), True)
    assert [clock(case, "case", t).state for t in (at(100), at(110), at(120))] == [
        ON_TRACK,
        WARNING,
        BREACHED,
    ]


def test_a_revised_target_earlier_than_the_warning_lead_warns_from_the_start():
    case = open_case()
    case.revise_target("case", due_at=at(5), reason="urgent", by="lead", now=at(1))
    c = clock(case, "case", at(1))
    assert (c.warning_at, c.due_at, c.state) == (at(0), at(5), WARNING)


def test_a_pause_after_a_revision_moves_the_revised_target():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(2))  # before: no effect
    case.resume(by="ann", now=at(4))
    case.revise_target("case", due_at=at(120), reason="tenant agreed", by="lead", now=at(10))
    case.pause(reason="tenant in hospital", by="ann", now=at(20))
    case.resume(by="ann", now=at(30))
    c = clock(case, "case", at(30))
    assert (c.warning_at, c.due_at) == (at(120), at(130))


def test_a_revised_target_given_in_another_offset_is_the_same_instant():
    from datetime import timezone

    case = open_case()
    local = at(120).astimezone(timezone(timedelta(hours=1)))
    case.revise_target("case", due_at=local, reason="tenant agreed", by="lead", now=at(10))
    assert clock(case, "case", at(10)).due_at == at(120)


def test_a_revised_task_target_in_working_time_keeps_its_warning_lead():
    opened = utc(2026, 12, 14, 10)
    case = open_case(working_type(), opened)
    case.revise_target(
        "assess", due_at=utc(2027, 1, 8, 12), reason="tenant away", by="lead", now=opened
    )
    assess = clock(case, "assess", opened)
    # 2 working days (16 hours) before Friday 12:00: Friday 09-12, Thursday 09-17,
    # Wednesday 12-17.
    assert (assess.warning_at, assess.due_at) == (utc(2027, 1, 6, 12), utc(2027, 1, 8, 12))
    assert case.state.log[-1].kind == "target_revised"
    assert case.state.log[-1].task_key == "assess"
    assert case.state.log[-1].detail == "new target 2027-01-08 12:00 UTC: tenant away"


# -- working days --------------------------------------------------------------------------


def test_working_days_skip_weekends_and_the_christmas_bank_holidays():
    # Monday 2026-12-14 10:00 + 10 working days: 15-18, 21-24 (8), then Christmas Day
    # (Friday), the weekend and the substitute Boxing Day (Monday 28th) are closed:
    # Tuesday 29th (9), Wednesday 30th (10).
    opened = utc(2026, 12, 14, 10)
    case = open_case(working_type(), opened)
    assess = clock(case, "assess", opened)
    assert assess.calendar == "england-and-wales"
    assert assess.due_at == utc(2026, 12, 30, 10)
    assert assess.warning_at == utc(2026, 12, 24, 10)  # 8 working days
    # Case: 15 working days, New Year's Day (Friday) closed: 31st (11), Mon 4th (12),
    # 5th (13), 6th (14), Thursday 7 January 2027 (15); warning after 12.
    c = clock(case, "case", opened)
    assert (c.warning_at, c.due_at) == (utc(2027, 1, 4, 10), utc(2027, 1, 7, 10))
    states = [
        clock(case, "assess", t).state
        for t in (
            utc(2026, 12, 24, 9, 59),
            utc(2026, 12, 24, 10),
            utc(2026, 12, 29, 16, 59),
            utc(2026, 12, 30, 10),
        )
    ]
    assert states == [ON_TRACK, WARNING, WARNING, BREACHED]


def test_a_clock_starting_at_the_weekend_starts_at_the_next_opening():
    # Saturday: the clock starts Monday 09:00 and is due at the close of the 10th day.
    opened = utc(2026, 3, 7, 10)
    assess = clock(open_case(working_type(), opened), "assess", opened)
    assert (assess.warning_at, assess.due_at) == (utc(2026, 3, 18, 17), utc(2026, 3, 20, 17))


def test_working_days_across_the_clock_change_and_easter():
    # Thursday 2026-03-26 10:00 GMT; clocks go forward on Sunday 29th; Good Friday 3 April
    # and Easter Monday 6 April are closed: 27, 30, 31, 1, 2, 7, 8, 9, 10, Monday 13th,
    # 10:00 BST = 09:00 UTC.
    opened = utc(2026, 3, 26, 10)
    assert clock(open_case(working_type(), opened), "assess", opened).due_at == utc(2026, 4, 13, 9)


def test_working_hours_and_a_lag_in_working_days_across_a_weekend():
    opened = utc(2026, 3, 6, 15)  # Friday 15:00 GMT
    case = open_case(working_type(), opened)
    complete(case, "assess", utc(2026, 3, 6, 16))
    # Lag of 2 working days: Tuesday 16:00. The visit opens then, 4 working hours:
    # Tuesday 16-17, Wednesday 09-12; warning 1 working hour before.
    case.tick(utc(2026, 3, 10, 15, 59))
    assert [c.subject for c in case.clocks(utc(2026, 3, 10, 16))] == ["case", "assess"]
    case.tick(utc(2026, 3, 10, 16))
    visit = clock(case, "visit", utc(2026, 3, 10, 16))
    assert (visit.started_at, visit.warning_at, visit.due_at) == (
        utc(2026, 3, 10, 16),
        utc(2026, 3, 11, 11),
        utc(2026, 3, 11, 12),
    )


def test_a_pause_over_a_weekend_moves_due_points_by_its_working_time():
    opened = utc(2026, 3, 2, 10)  # Monday
    case = open_case(working_type(), opened)
    assert clock(case, "assess", opened).due_at == utc(2026, 3, 16, 10)
    # Paused Friday 16:00 to Monday 10:00: 1 hour on Friday and 1 on Monday count.
    case.pause(reason="tenant away", by="ann", now=utc(2026, 3, 6, 16))
    case.resume(by="ann", now=utc(2026, 3, 9, 10))
    assess = clock(case, "assess", utc(2026, 3, 9, 10))
    assert (assess.warning_at, assess.due_at) == (utc(2026, 3, 12, 12), utc(2026, 3, 16, 12))
    assert case.state.log[-1].detail == "paused for 2:00:00"


def test_a_pause_outside_working_hours_moves_nothing():
    opened = utc(2026, 3, 2, 10)
    case = open_case(working_type(), opened)
    case.pause(reason="tenant away", by="ann", now=utc(2026, 3, 6, 18))
    case.resume(by="ann", now=utc(2026, 3, 9, 8))
    assert clock(case, "assess", utc(2026, 3, 9, 8)).due_at == utc(2026, 3, 16, 10)


def test_a_pause_running_past_the_due_point_in_working_time():
    # Due Monday 16 March 10:00; paused Friday 13th 16:00 (2 working hours left: 16-17 and
    # 09-10) until Tuesday 17th 12:00: resumed with 2 hours left, due Tuesday 14:00.
    opened = utc(2026, 3, 2, 10)
    case = open_case(working_type(), opened)
    case.pause(reason="tenant in hospital", by="ann", now=utc(2026, 3, 13, 16))
    case.resume(by="ann", now=utc(2026, 3, 17, 12))
    assert clock(case, "assess", utc(2026, 3, 17, 12)).due_at == utc(2026, 3, 17, 14)
