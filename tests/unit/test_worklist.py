"""What the worklist shows of a task, worked out in the case model: due points, SLA state,
holds, what a blocked task waits for and when it opens; which rows a register write
rewrites; and the periods `--due-within` reads.

Cases run on `sla_type()` (around the clock, opened at `at(0)`): `contact` is due at 5
(warning 4), `review` opens 2 minutes after `contact` is completed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.contracts import RegisterUpdate
from casemodel.requests import AddTask, CompleteTask, HoldTask, PauseCase, ReleaseTask, ResumeCase
from casemodel.sla import ClockState
from casemodel.worklist import figures, read_period, recorded_keys, state_at
from definitions.durations import Duration, DurationError, DurationUnit
from tests.factories import at, visit_type
from tests.factories import complete_at as complete
from tests.factories import open_sla_case as open_case

ON_TRACK, WARNING, BREACHED = ClockState.on_track, ClockState.warning, ClockState.breached
PAUSED = ClockState.paused


def test_an_open_task_shows_its_due_points_and_state():
    case = open_case()
    shown = figures(case, case.instance("contact"), at(1))
    assert (shown.warning_at, shown.due_at, shown.sla_state) == (at(4), at(5), ON_TRACK)
    assert not shown.held and shown.waits_for is None and shown.opens_at is None


def test_a_blocked_task_shows_what_it_waits_for_and_when_it_opens():
    case = open_case()
    waiting = figures(case, case.instance("review"), at(1))
    assert waiting.waits_for == "contact (open)"
    assert waiting.opens_at is None, "it opens when contact is done, and nobody knows when"
    assert (waiting.due_at, waiting.sla_state) == (None, None)

    complete(case, "contact", at(3))
    lag = figures(case, case.instance("review"), at(3))
    assert lag.opens_at == at(5), "two minutes after contact: known now"
    assert lag.waits_for is not None and "agreed lag" in lag.waits_for


def test_several_waits_are_kept_apart():
    case = open_case(visit_type())
    complete(case, "contact", at(1))
    case.apply(CompleteTask(task="home-visit", outcome="visited"), at(2))
    shown = figures(case, case.instance("agree-plan"), at(2))
    assert shown.waits_for == "risk-assessment (open); benefits-check (open)"


def test_a_held_task_is_paused_and_says_so():
    case = open_case()
    case.apply(HoldTask(task="contact", reason="awaiting the GP"), at(2))
    shown = figures(case, case.instance("contact"), at(3))
    assert shown.held and shown.sla_state is PAUSED
    case.apply(ReleaseTask(task="contact"), at(4))
    released = figures(case, case.instance("contact"), at(4))
    assert not released.held and released.due_at == at(7), "two held minutes move it on"


def test_a_pause_of_the_case_stops_and_then_moves_every_task():
    case = open_case()
    case.apply(PauseCase(reason="tenant in hospital"), at(2))
    paused = figures(case, case.instance("contact"), at(10))
    assert paused.sla_state is PAUSED and paused.due_at == at(5) and not paused.held
    case.apply(ResumeCase(), at(12))
    resumed = figures(case, case.instance("contact"), at(12))
    assert (resumed.warning_at, resumed.due_at, resumed.sla_state) == (at(14), at(15), ON_TRACK)


def test_the_state_read_later_is_worked_out_from_the_points():
    due, warning = at(10), at(8)
    assert state_at("on_track", held=False, warning_at=warning, due_at=due, now=at(7)) is ON_TRACK
    assert state_at("on_track", held=False, warning_at=warning, due_at=due, now=at(8)) is WARNING
    assert state_at("warning", held=False, warning_at=warning, due_at=due, now=at(10)) is BREACHED
    assert state_at("on_track", held=False, warning_at=None, due_at=due, now=at(9)) is ON_TRACK
    assert state_at("paused", held=False, warning_at=warning, due_at=due, now=at(99)) is PAUSED
    assert state_at("on_track", held=True, warning_at=warning, due_at=due, now=at(99)) is PAUSED
    assert state_at(None, held=False, warning_at=None, due_at=None, now=at(99)) is None


@settings(max_examples=60, deadline=None)
@given(
    written=st.integers(0, 30),
    later=st.integers(0, 600),
    held_at=st.none() | st.integers(0, 30),
    paused_at=st.none() | st.integers(0, 30),
)
def test_a_row_read_later_shows_the_state_the_case_would(
    written: int, later: int, held_at: int | None, paused_at: int | None
):
    """Rows are not rewritten as time passes: read at any later instant with nothing logged
    in between, the state from the stored points is the one the case itself works out."""
    case = open_case()
    if held_at is not None and held_at <= written:
        case.apply(HoldTask(task="contact", reason="awaiting the GP"), at(held_at))
    if paused_at is not None and paused_at <= written:
        case.apply(PauseCase(reason="tenant away"), at(paused_at))
    task = case.instance("contact")
    stored = figures(case, task, at(written))
    now = at(written) + timedelta(minutes=later)
    read = state_at(
        stored.sla_state.value if stored.sla_state else None,
        held=stored.held,
        warning_at=stored.warning_at,
        due_at=stored.due_at,
        now=now,
    )
    clock = case.clock_of("contact", now)
    assert clock is not None and read is clock.state


def test_a_write_rewrites_each_task_the_changes_bear_on():
    case = open_case(visit_type())
    start = len(case.state.log)
    complete(case, "contact", at(1))
    keys = recorded_keys(case, case.state.log[start:])
    # home-visit opened, so what risk-assessment and benefits-check wait for reads
    # "home-visit (open)" now; agree-plan waits for those two, which did not change
    assert keys == {"contact", "home-visit", "risk-assessment", "benefits-check"}
    start = len(case.state.log)
    case.apply(AddTask(task="check-in"), at(2))
    assert recorded_keys(case, case.state.log[start:]) == {"check-in"}


def test_a_blocked_task_is_rewritten_when_what_it_waits_for_changes():
    case = open_case(visit_type())
    complete(case, "contact", at(1))
    case.apply(CompleteTask(task="home-visit", outcome="visited"), at(2))
    start = len(case.state.log)
    case.apply(CompleteTask(task="risk-assessment", responses={"Risk level": "low"}), at(3))
    keys = recorded_keys(case, case.state.log[start:])
    assert keys == {"risk-assessment", "agree-plan"}, "agree-plan now waits for less"


def test_a_pause_and_a_resume_rewrite_every_task_in_progress():
    case = open_case(visit_type())
    in_progress = {t.key for t in case.in_progress()}
    for request, minute in ((PauseCase(reason="in hospital"), 1), (ResumeCase(), 2)):
        start = len(case.state.log)
        case.apply(request, at(minute))
        assert recorded_keys(case, case.state.log[start:]) == in_progress


def test_a_register_update_after_a_resume_carries_the_moved_due_points():
    case = open_case()
    case.apply(PauseCase(reason="tenant in hospital"), at(2))
    seq = case.state.last_seq
    case.apply(ResumeCase(), at(12))
    update = RegisterUpdate.since(case, "case-C-1", seq, at(12))
    assert update is not None
    rows = {t.key: t for t in update.tasks}
    assert set(rows) == {"contact", "review"}
    contact, review = rows["contact"], rows["review"]
    assert (contact.warning_at, contact.due_at, contact.sla_state) == (at(14), at(15), "on_track")
    assert review.status.value == "blocked" and review.waits_for == "contact (open)"
    assert RegisterUpdate.since(case, "case-C-1", update.last_seq, at(13)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5d", Duration(5, DurationUnit.DAYS)),
        ("5 D", Duration(5, DurationUnit.DAYS)),
        ("2wd", Duration(2, DurationUnit.WORKING_DAYS)),
        ("4wh", Duration(4, DurationUnit.WORKING_HOURS)),
        ("2w", Duration(2, DurationUnit.WEEKS)),
        ("36h", Duration(36, DurationUnit.HOURS)),
        ("90min", Duration(90, DurationUnit.MINUTES)),
        ("30s", Duration(30, DurationUnit.SECONDS)),
        ("5 days", Duration(5, DurationUnit.DAYS)),
        ("2 working days", Duration(2, DurationUnit.WORKING_DAYS)),
        ("1 hour", Duration(1, DurationUnit.HOURS)),
    ],
)
def test_a_period_is_read_as_durations_are_written_or_in_short(text: str, expected: Duration):
    assert read_period(text) == expected


@pytest.mark.parametrize("text", ["5", "5x", "soon", "0d", "-2d", "", "99999d"])
def test_a_period_that_is_none_is_refused_with_the_forms_it_may_take(text: str):
    with pytest.raises(DurationError) as refused:
        read_period(text)
    assert "wd (working days)" in str(refused.value)


def test_an_upcoming_occurrence_of_a_paused_case_is_neither_due_nor_late() -> None:
    from casemodel.case import Case
    from casemodel.sla import ClockState
    from casemodel.worklist import figures
    from tests.factories import T0, recurring_type

    case = Case.open(
        recurring_type(), case_ref="R-1", tenant_ref="T-1", owner="ann", now=T0, opened_by="x"
    )
    case.complete_task("intake", outcome=None, responses=None, note=None, by="ann", now=T0)
    waiting = case.instance("check-in#2")
    assert figures(case, waiting, T0).sla_state is None
    case.pause(reason="tenant in hospital", by="ann", now=T0)
    shown = figures(case, waiting, T0)
    assert shown.sla_state is ClockState.paused and shown.opens_at == waiting.opens_at
