"""Properties of SLA clocks and escalations over generated times and request sequences.

Office-hours properties run on types counted in the shipped england-and-wales calendar;
escalation properties on `sla_type()` (around the clock, minutes) with a manual `call`
task, so that adding one is activity.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from casemodel import errors
from casemodel.calendars import WorkingCalendar
from casemodel.case import Case
from casemodel.sla import Clock
from definitions.schema import ProvisionType
from tests.factories import at, sla_type, working_type

SETTINGS = settings(max_examples=150, deadline=None)

# -- office hours --------------------------------------------------------------------------

TARGETS = [
    ("10 working days", "2 working days"),
    ("3 working days", "4 working hours"),
    ("4 working hours", "1 working hour"),
    ("1 working day", None),
    ("15 working hours", "3 working hours"),
]


def _office_type(target: str, warning: str | None) -> ProvisionType:
    data = working_type().model_dump(mode="json")
    data["tasks"][0]["sla"] = {"target": target} | ({"warning": warning} if warning else {})
    return ProvisionType.model_validate(data)


OFFICE_TYPES = [_office_type(*t) for t in TARGETS]
START = datetime(2026, 1, 1, tzinfo=UTC)

instants = st.integers(0, 2 * 365 * 24 * 60).map(lambda m: START + timedelta(minutes=m))
spans = st.integers(1, 20 * 24 * 60).map(lambda m: timedelta(minutes=m))


def office_case(ptype: ProvisionType, opened: datetime) -> Case:
    return Case.open(
        ptype, case_ref="C-1", tenant_ref="T-9", owner="ann", now=opened, opened_by="hms"
    )


def by_subject(case: Case, now: datetime) -> dict[str, Clock]:
    return {c.subject: c for c in case.clocks(now)}


@SETTINGS
@given(st.sampled_from(OFFICE_TYPES), instants, spans, spans)
def test_a_pause_moves_every_running_clock_by_its_working_time(ptype, opened, wait, length):
    paused, resumed = opened + wait, opened + wait + length
    plain = office_case(ptype, opened)
    moved = office_case(ptype, opened)
    moved.pause(reason="tenant in hospital", by="ann", now=paused)
    moved.resume(by="ann", now=resumed)
    calendar = moved.calendar
    stopped = calendar.working_time_between(paused, resumed)
    before, after = by_subject(plain, resumed), by_subject(moved, resumed)
    assert before.keys() == after.keys() == {"case", "assess"}
    for subject, clock in before.items():
        for point, later in ((clock.due_at, after[subject].due_at),) + (
            ((clock.warning_at, after[subject].warning_at),) if clock.warning_at else ()
        ):
            if paused < point:
                assert later >= point
                assert calendar.working_time_between(point, later) == stopped, subject
            else:  # the point had passed when the pause began
                assert later == point, subject


def _outside(calendar: WorkingCalendar, instant: datetime) -> bool:
    """Neither working time nor the closing instant of an open day."""
    if calendar.is_working_instant(instant):
        return False
    local = calendar.to_local(instant)
    return not (calendar.is_open_day(local.date()) and local.time() == calendar.closes)


@SETTINGS
@given(
    st.sampled_from(OFFICE_TYPES),
    instants,
    st.lists(st.tuples(spans, spans), max_size=3),
    st.booleans(),
)
def test_a_due_point_is_always_in_working_time_or_a_closing_instant(ptype, opened, stops, hold):
    case = office_case(ptype, opened)
    now = opened
    for wait, length in stops:
        if hold:
            case.hold_task("assess", reason="tenant asked to wait", by="ann", now=now + wait)
            case.release_task("assess", by="ann", now=now + wait + length)
        else:
            case.pause(reason="tenant in hospital", by="ann", now=now + wait)
            case.resume(by="ann", now=now + wait + length)
        now += wait + length
        hold = not hold
    calendar = case.calendar
    assert isinstance(calendar, WorkingCalendar)
    for clock in case.clocks(now):
        assert not _outside(calendar, clock.due_at), (clock.subject, clock.due_at)
        assert clock.warning_at is None or clock.warning_at <= clock.due_at


stop_events = st.lists(
    st.tuples(spans, st.sampled_from(["pause", "resume", "hold", "release"])), max_size=8
)


def _union(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > begin:
            merged.append((begin, end))
    return merged


@SETTINGS
@given(st.sampled_from(OFFICE_TYPES), instants, stop_events)
def test_stopped_time_counts_once_however_pauses_and_holds_overlap(ptype, opened, events):
    """The working time a clock runs to its due point, less the time it stood still
    (pauses of the case and holds of the task, counted once where they overlap), is
    its target."""
    case = office_case(ptype, opened)
    now = opened
    for wait, event in events:
        now += wait
        try:
            match event:
                case "pause":
                    case.pause(reason="tenant in hospital", by="ann", now=now)
                case "resume":
                    case.resume(by="ann", now=now)
                case "hold":
                    case.hold_task("assess", reason="wait", by="ann", now=now)
                case "release":
                    case.release_task("assess", by="ann", now=now)
        except errors.CaseRuleError:
            pass
    now += timedelta(minutes=1)
    if case.state.paused:
        case.resume(by="ann", now=now)
    if case.state.tasks[0].holds and case.state.tasks[0].holds[-1].end is None:
        case.release_task("assess", by="ann", now=now)
    calendar = case.calendar
    planned = by_subject(office_case(ptype, opened), opened)
    for clock in case.clocks(now):
        stops = list(case.state.pauses)
        if clock.subject == "assess":
            stops += case.state.tasks[0].holds
        stood = _union(
            [
                (max(s.start, clock.started_at), min(s.end, clock.due_at))
                for s in stops
                if s.end is not None
            ]
        )
        ran = calendar.working_time_between(clock.started_at, clock.due_at) - sum(
            (calendar.working_time_between(b, e) for b, e in stood), timedelta(0)
        )
        target = planned[clock.subject]
        assert ran == calendar.working_time_between(target.started_at, target.due_at)


# -- escalations ---------------------------------------------------------------------------

_TASKS = sla_type().model_dump(mode="json")["tasks"]
ESCALATING = sla_type(
    tasks=[*_TASKS, {"id": "call", "name": "Call", "automatic": False, "repeatable": True}]
)
FIXED = sla_type(may_be_held=False)

REQUESTS: dict[str, Callable[[Case, datetime], object]] = {
    "complete contact": lambda c, now: c.complete_task(
        "contact", outcome=None, responses=None, note=None, by="ann", now=now
    ),
    "complete review": lambda c, now: c.complete_task(
        "review", outcome=None, responses=None, note=None, by="ann", now=now
    ),
    "add call": lambda c, now: c.add_task("call", note=None, by="ann", now=now),
    "pause": lambda c, now: c.pause(reason="tenant in hospital", by="ann", now=now),
    "resume": lambda c, now: c.resume(by="ann", now=now),
    "hold contact": lambda c, now: c.hold_task("contact", reason="wait", by="ann", now=now),
    "release contact": lambda c, now: c.release_task("contact", by="ann", now=now),
}
steps = st.lists(
    st.tuples(st.integers(0, 15 * 60), st.sampled_from(["tick", "tick", "tick", *REQUESTS])),
    max_size=40,
)


@SETTINGS
@given(steps)
def test_ticks_fire_each_key_once_in_due_order_and_never_twice(script):
    case = Case.open(
        ESCALATING, case_ref="C-1", tenant_ref="T-9", owner="ann", now=at(0), opened_by="hms"
    )
    now = at(0)
    for seconds, step in script:
        now += timedelta(seconds=seconds)
        if step == "tick":
            fired = case.tick(now)
            assert all(f.due_at <= f.fired_at == now for f in fired)
            # a tick that catches up fires in due order, whatever the subject
            assert [f.due_at for f in fired] == sorted(f.due_at for f in fired)
            # nothing due is left behind, and the same tick again does nothing at all
            assert all(p.at > now for p in case.pending_escalations(now))
            before = case.state.model_dump()
            assert case.tick(now) == []
            assert case.state.model_dump() == before
        else:
            with contextlib.suppress(errors.CaseRuleError):
                REQUESTS[step](case, now)
    case.tick(now + timedelta(days=1))
    keys = [f.key for f in case.state.firings]
    assert len(keys) == len(set(keys))
    for subject in {f.subject for f in case.state.firings}:
        dues = [f.due_at for f in case.state.firings if f.subject == subject]
        assert dues == sorted(dues), subject
        for f in case.state.firings:
            assert f.key == f"C-1/{f.subject}/{f.rule}#{f.occurrence}"


@SETTINGS
@given(st.integers(0, 300 * 60), st.integers(0, 300 * 60))
def test_a_tick_then_the_same_tick_again_fires_nothing(first, second):
    case = Case.open(
        ESCALATING, case_ref="C-1", tenant_ref="T-9", owner="ann", now=at(0), opened_by="hms"
    )
    for seconds in sorted((first, second)):
        now = at(0) + timedelta(seconds=seconds)
        case.tick(now)
        before = case.state.model_dump()
        assert case.tick(now) == []
        assert case.state.model_dump() == before


@SETTINGS
@given(st.lists(st.integers(1, 90 * 60), max_size=12))
def test_the_same_firings_whatever_the_tick_rhythm(gaps):
    """A worker that ticks late, or was down, fires what a punctual one fires."""

    def opened() -> Case:
        return Case.open(
            ESCALATING, case_ref="C-1", tenant_ref="T-9", owner="ann", now=at(0), opened_by="hms"
        )

    punctual, late = opened(), opened()
    now = at(0)
    while (due := punctual.next_due(now)) is not None:
        now = due[0]
        punctual.tick(now)
    now = at(0)
    for gap in gaps:
        now += timedelta(seconds=gap)
        late.tick(now)
    late.tick(at(1000))
    assert [(f.key, f.due_at) for f in late.state.firings] == [
        (f.key, f.due_at) for f in punctual.state.firings
    ]
    assert [f.due_at for f in punctual.state.firings] == [
        f.fired_at for f in punctual.state.firings
    ]
    assert (late.state.priority, late.state.tasks[0].owner) == (
        punctual.state.priority,
        punctual.state.tasks[0].owner,
    )


# -- refusals ------------------------------------------------------------------------------

subjects = st.sampled_from(["case", "contact", "review", "call", "nonsense"])
reasons = st.sampled_from(["tenant in hospital", "", "  "])
targets = st.sampled_from([at(90), at(5), datetime(2026, 3, 2, 11, 0)])

TIME_REQUESTS: dict[str, tuple[Callable[..., object], Callable[..., object]]] = {
    # request, and the validator the workflow runs before it
    "pause": (
        lambda c, now, s, r, t: c.pause(reason=r, by="ann", now=now),
        lambda c, s, r, t: c.check_pause(r),
    ),
    "resume": (
        lambda c, now, s, r, t: c.resume(by="ann", now=now),
        lambda c, s, r, t: c.check_resume(),
    ),
    "hold": (
        lambda c, now, s, r, t: c.hold_task(s, reason=r, by="ann", now=now),
        lambda c, s, r, t: c.check_hold(s, r),
    ),
    "release": (
        lambda c, now, s, r, t: c.release_task(s, by="ann", now=now),
        lambda c, s, r, t: c.check_release(s),
    ),
    "revise": (
        lambda c, now, s, r, t: c.revise_target(s, due_at=t, reason=r, by="lead", now=now),
        lambda c, s, r, t: c.check_revise(s, t, r),
    ),
    "complete": (
        lambda c, now, s, r, t: c.complete_task(
            s, outcome=None, responses=None, note=None, by="ann", now=now
        ),
        lambda c, s, r, t: c.check_complete(s, outcome=None, responses=None),
    ),
    "close": (
        lambda c, now, s, r, t: c.close(outcome=None, reason=r, by="ann", now=now),
        lambda c, s, r, t: c.check_close(None),
    ),
}
requests = st.lists(
    st.tuples(
        st.integers(0, 10 * 60),
        st.sampled_from(sorted(TIME_REQUESTS)),
        subjects,
        reasons,
        targets,
    ),
    max_size=30,
)


@SETTINGS
@given(st.sampled_from([ESCALATING, FIXED]), requests)
def test_refusals_leave_the_state_unchanged_and_validators_agree(ptype, script):
    case = Case.open(
        ptype, case_ref="C-1", tenant_ref="T-9", owner="ann", now=at(0), opened_by="hms"
    )
    now = at(0)
    for seconds, name, subject, reason, target in script:
        now += timedelta(seconds=seconds)
        request, check = TIME_REQUESTS[name]
        checked: Any = None
        try:
            check(case, subject, reason, target)
        except errors.CaseRuleError as refusal:
            checked = refusal
        before = case.state.model_dump()
        try:
            request(case, now, subject, reason, target)
        except errors.CaseRuleError as refusal:
            assert case.state.model_dump() == before, (name, refusal.message)
            assert refusal.message and refusal.message[-1] in ".!", refusal.message
            if checked is not None:
                assert type(refusal) is type(checked) and refusal.message == checked.message
        else:
            assert checked is None, (name, subject, checked.message)
        case.tick(now)
