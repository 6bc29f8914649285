"""Properties of series arithmetic and of recurring cases, over drawn cadences and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casemodel import errors
from casemodel.calendars import TwentyFourSeven, calendar_for
from casemodel.case import Case
from casemodel.series import intervals_after, next_occurrence
from casemodel.sla import Interval
from definitions.durations import Duration, DurationUnit
from definitions.schema import Recurrence
from tests.factories import england_and_wales, recurring_type

H24 = TwentyFourSeven()
OFFICE = calendar_for(england_and_wales())
starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
units = st.sampled_from([DurationUnit.DAYS, DurationUnit.WEEKS, DurationUnit.HOURS])


@given(first=starts, amount=st.integers(1, 30), unit=units, n=st.integers(0, 60))
def test_a_schedule_cadence_counts_every_occurrence_from_the_first(
    first: datetime, amount: int, unit: DurationUnit, n: int
) -> None:
    every = Duration(amount, unit)
    recurrence = Recurrence(every=str(every), times=1000)
    due = next_occurrence(H24, recurrence, first_at=first, occurrences=n, last_done_at=None)
    assert due == first + every.to_timedelta() * n


@given(first=starts, amount=st.integers(1, 10), n=st.integers(1, 1200))
def test_long_spans_are_added_in_parts_that_agree_with_one_span(
    first: datetime, amount: int, n: int
) -> None:
    every = Duration(amount, DurationUnit.WEEKS)
    assert intervals_after(H24, first, every, n) == first + timedelta(weeks=amount * n)


@given(
    first=starts,
    amount=st.integers(1, 4),
    times=st.integers(1, 30),
    weeks=st.integers(1, 60),
    calendar=st.sampled_from([H24, OFFICE]),
)
def test_bounds_are_kept_and_occurrences_only_move_forward(
    first: datetime, amount: int, times: int, weeks: int, calendar: object
) -> None:
    recurrence = Recurrence(every=f"{amount} weeks", times=times, **{"for": f"{weeks} weeks"})
    dues = [first]
    while (
        due := next_occurrence(
            calendar,  # type: ignore[arg-type]
            recurrence,
            first_at=first,
            occurrences=len(dues),
            last_done_at=None,
        )
    ) is not None:
        assert due > dues[-1]
        dues.append(due)
    end = calendar.add(first, f"{weeks} weeks")  # type: ignore[attr-defined]
    assert len(dues) <= times
    assert all(d < end for d in dues[1:])
    assert (
        len(dues) == times
        or intervals_after(
            calendar,  # type: ignore[arg-type]
            first,
            Duration(amount, DurationUnit.WEEKS),
            len(dues),
        )
        >= end
    )


@given(first=starts, pause_at=st.integers(0, 100), pause_for=st.integers(1, 200))
def test_a_finished_pause_moves_every_later_occurrence_by_its_length(
    first: datetime, pause_at: int, pause_for: int
) -> None:
    recurrence = Recurrence(every="1 week", times=50)
    start = first + timedelta(hours=pause_at)
    stops = [Interval(start=start, end=start + timedelta(hours=pause_for))]
    for n in (1, 2, 10):
        plain = next_occurrence(H24, recurrence, first_at=first, occurrences=n, last_done_at=None)
        moved = next_occurrence(
            H24, recurrence, first_at=first, occurrences=n, last_done_at=None, stops=stops
        )
        assert plain is not None and moved is not None
        expected = plain + timedelta(hours=pause_for) if start < plain else plain
        assert moved == expected


events = st.lists(
    st.tuples(st.integers(1, 96), st.sampled_from(["tick", "see", "settle", "pause", "undo"])),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    steps=events,
    cadence=st.sampled_from(["schedule", "completion"]),
    times=st.integers(1, 8),
)
def test_each_occurrence_opens_once_and_fires_each_rule_once(
    steps: list[tuple[int, str]], cadence: str, times: int
) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = Case.open(
        recurring_type(
            {"every": "2 days", "times": times, "from": cadence, "until_outcome": "settled"}
        ),
        case_ref="P-1",
        tenant_ref="T-1",
        owner="ann",
        now=start,
        opened_by="hms",
    )
    case.complete_task("intake", outcome=None, responses=None, note=None, by="ann", now=start)
    now = start
    for hours, what in steps:
        now += timedelta(hours=hours)
        if what == "tick":
            case.tick(now)
        elif what == "pause":
            if case.state.paused:
                case.resume(by="ann", now=now)
            elif case.state.status.value == "open":
                case.pause(reason="away", by="ann", now=now)
        elif what == "undo":
            done = [
                t
                for t in case.state.tasks
                if t.task == "check-in" and t.status.value == "completed"
            ]
            if done and case.state.status.value == "open":
                try:
                    case.check_undo(done[-1].key)
                except errors.CaseRuleError:
                    continue
                case.undo_completion(done[-1].key, reason="mistake", by="ann", now=now)
        else:
            open_ones = [
                t for t in case.in_progress() if t.status.value == "open" and t.task == "check-in"
            ]
            if open_ones and not case.state.paused:
                outcome = "settled" if what == "settle" else "seen"
                case.complete_task(
                    open_ones[0].key, outcome=outcome, responses=None, note=None, by="ann", now=now
                )
    occurrences = [t for t in case.state.tasks if t.task == "check-in"]
    counted = [
        t for t in occurrences if not (t.status.value == "cancelled" and t.opened_at is None)
    ]
    numbers = [t.occurrence for t in counted]
    assert numbers == list(range(1, len(counted) + 1)) or any(
        e.kind == "completion_undone" for e in case.state.log
    )
    assert len({t.occurrence for t in counted}) <= times
    opened = [
        e.task_key
        for e in case.state.log
        if e.kind == "task_opened" and (e.task_key or "").startswith("check-in")
    ]
    assert len(opened) == len(set(opened))
    keys = [f.key for f in case.state.firings]
    assert len(keys) == len(set(keys))
    series = case.series_of("check-in")
    assert series is not None
    waiting = [t for t in occurrences if t.status.value == "blocked"]
    assert len(waiting) <= 1 and (not waiting or not series.ended)
    if series.ended:
        assert case.upcoming("check-in") is None
    review = case.instance("review")
    if review.status.value == "open":
        assert series.ended and not any(t.active for t in occurrences)
