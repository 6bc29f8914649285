"""Weeks and months in calendars: hand-worked examples, then properties against a reference.

A month is counted on the calendar's wall clock (the same day of the month and time of
day, or the month's last day when it is shorter); on a working calendar a point N weeks
or N months later that is not working time moves to the next opening. Days keep the
behaviour running cases were opened with. The reference below is written apart from
`casemodel.calendars`: months by `dateutil.relativedelta`, local times resolved by trying
the offsets around them, openings found by walking the days.
"""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from casemodel.calendars import UTC, Calendar, WorkingCalendar, calendar_for
from definitions.calendars import load_calendar_definitions
from definitions.durations import MAXIMUM, Duration, DurationUnit, parse_duration

LONDON = ZoneInfo("Europe/London")
CATALOG = Path(__file__).parents[2] / "definitions" / "catalog" / "calendars.yaml"
SHIPPED: dict[str, Calendar] = {
    definition.id: calendar_for(definition)
    for definition in load_calendar_definitions(CATALOG).calendars
}
ENGLAND = SHIPPED["england-and-wales"]
SCOTLAND = SHIPPED["scotland"]
CHRISTMAS_CLOSURE = SHIPPED["england-and-wales-christmas-closure"]
ALWAYS = SHIPPED["24x7"]
# Open every day, nearly all day, on London's wall clock: shows what months do to times of
# day the clocks skip or repeat, which office hours never reach.
LONDON_ALL_DAY = WorkingCalendar(
    name="london-all-day",
    timezone="Europe/London",
    working_days=frozenset(range(7)),
    opens=time(0),
    closes=time(23, 59, 59),
)
CALENDARS = [*SHIPPED.values(), LONDON_ALL_DAY]


def london(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LONDON)  # type: ignore[misc]


def due(calendar: Calendar, start: datetime, duration: str) -> datetime:
    return calendar.to_local(calendar.add(start, parse_duration(duration)))


# -- hand-worked examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [
        # The last day of February, leap year or not, same time of day.
        (ALWAYS, datetime(2027, 1, 31, 10, tzinfo=UTC), "1 month", datetime(2027, 2, 28, 10)),
        (ALWAYS, datetime(2028, 1, 31, 10, tzinfo=UTC), "1 month", datetime(2028, 2, 29, 10)),
        (ALWAYS, datetime(2027, 1, 30, 10, tzinfo=UTC), "1 month", datetime(2027, 2, 28, 10)),
        (ALWAYS, datetime(2027, 3, 31, 10, tzinfo=UTC), "1 month", datetime(2027, 4, 30, 10)),
        (ALWAYS, datetime(2026, 11, 30, 8, tzinfo=UTC), "3 months", datetime(2027, 2, 28, 8)),
        (ALWAYS, datetime(2027, 2, 28, 10, tzinfo=UTC), "1 month", datetime(2027, 3, 28, 10)),
        (ALWAYS, datetime(2026, 1, 15, 10, tzinfo=UTC), "120 months", datetime(2036, 1, 15, 10)),
        (ALWAYS, datetime(2028, 2, 29, 10, tzinfo=UTC), "12 months", datetime(2029, 2, 28, 10)),
        # 29 February 2028 is a Tuesday: open.
        (ENGLAND, london(2028, 1, 31, 10), "1 month", datetime(2028, 2, 29, 10)),
        # 28 February 2027 is a Sunday: the next opening.
        (ENGLAND, london(2027, 1, 31, 10), "1 month", datetime(2027, 3, 1, 9)),
        # Good Friday 3 April 2026 is closed everywhere; Easter Monday only in England.
        (ENGLAND, london(2026, 3, 3, 10), "1 month", datetime(2026, 4, 7, 9)),
        (SCOTLAND, london(2026, 3, 3, 10), "1 month", datetime(2026, 4, 6, 9)),
        # A week later is Christmas Day; the substitute Boxing Day is closed too.
        (ENGLAND, london(2026, 12, 18, 10), "1 week", datetime(2026, 12, 29, 9)),
        (CHRISTMAS_CLOSURE, london(2026, 12, 18, 10), "1 week", datetime(2027, 1, 4, 9)),
        (ENGLAND, london(2026, 12, 1, 10), "2 weeks", datetime(2026, 12, 15, 10)),
        # Outside opening hours: before opening, and the closing instant itself.
        (ENGLAND, london(2026, 6, 8, 7, 30), "1 week", datetime(2026, 6, 15, 9)),
        (ENGLAND, london(2026, 6, 8, 17), "1 week", datetime(2026, 6, 16, 9)),
        (ENGLAND, london(2026, 6, 8, 16, 59), "1 month", datetime(2026, 7, 8, 16, 59)),
        # Across the clock change the local time of day stays.
        (ENGLAND, london(2026, 3, 10, 10), "1 month", datetime(2026, 4, 10, 10)),
        (ENGLAND, london(2026, 10, 14, 10), "2 weeks", datetime(2026, 10, 28, 10)),
        # 30 March 01:30 (after the change) keeps 01:30 a month later.
        (LONDON_ALL_DAY, london(2026, 3, 30, 1, 30), "1 month", datetime(2026, 4, 30, 1, 30)),
        # 01:30 on 29 March 2026 never happens: it moves forward by the gap, to 02:30 BST.
        (LONDON_ALL_DAY, london(2026, 1, 29, 1, 30), "2 months", datetime(2026, 3, 29, 2, 30)),
        (LONDON_ALL_DAY, london(2026, 3, 22, 1, 30), "1 week", datetime(2026, 3, 29, 2, 30)),
        # 01:30 on 25 October 2026 happens twice: the first, in BST.
        (LONDON_ALL_DAY, london(2026, 9, 25, 1, 30), "1 month", datetime(2026, 10, 25, 1, 30)),
    ],
)
def test_weeks_and_months(
    calendar: Calendar, start: datetime, duration: str, expected: datetime
) -> None:
    assert due(calendar, start, duration).replace(tzinfo=None) == expected


def test_the_repeated_hour_means_its_first_occurrence() -> None:
    result = LONDON_ALL_DAY.add(london(2026, 9, 25, 1, 30), parse_duration("1 month"))
    assert result == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_days_still_land_on_closed_days() -> None:
    """Running cases count days this way; only weeks and months move to an opening."""
    assert due(ENGLAND, london(2026, 12, 18, 10), "7 days") == london(2026, 12, 25, 10)
    assert due(ENGLAND, london(2026, 6, 8, 17), "7 days") == london(2026, 6, 15, 17)


def test_weeks_can_still_be_counted_as_before_for_an_old_history() -> None:
    calendars = load_calendar_definitions(CATALOG).calendars
    definition = next(found for found in calendars if found.id == "england-and-wales")
    before = calendar_for(definition, weeks_move_to_opening=False)
    assert due(before, london(2026, 12, 18, 10), "2 weeks") == london(2027, 1, 1, 10)
    assert due(before, london(2027, 1, 31, 10), "1 month") == london(2027, 3, 1, 9)
    assert due(calendar_for(definition), london(2026, 12, 18, 10), "2 weeks") == london(
        2027, 1, 4, 9
    )


def test_months_are_due_points_in_utc() -> None:
    result = ENGLAND.add(london(2026, 3, 10, 10), parse_duration("1 month"))
    assert result.tzinfo is UTC
    assert result == datetime(2026, 4, 10, 9, tzinfo=UTC)


@pytest.mark.parametrize("duration", ["1 month", "5 weeks", "120 months"])
def test_past_the_year_9999_is_a_clear_error(duration: str) -> None:
    late = datetime(9999, 12, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="9999"):
        ALWAYS.add(late, parse_duration(duration))


def test_months_have_no_fixed_length() -> None:
    month = Duration(1, DurationUnit.MONTHS)
    assert not month.has_fixed_length and not month.is_working_time
    assert Duration(1, DurationUnit.WEEKS).has_fixed_length
    with pytest.raises(ValueError, match="28 to 31 days"):
        month.to_timedelta()
    assert MAXIMUM[DurationUnit.MONTHS] == 120
    assert str(parse_duration("1 months")) == "1 month"
    assert str(parse_duration("3 Months")) == "3 months"


# -- the reference -------------------------------------------------------------------------


def reference_local(calendar: Calendar, wall_clock: datetime) -> datetime:
    """The UTC instant of a local wall-clock time, found by trying the offsets in force a
    day either side: the earlier instant when it happens twice, and when it never happens,
    the instant the clock would show it at on the offset before the change."""
    zone = calendar.zone
    offsets = []
    for hours in (-36, 36):
        probe = (wall_clock + timedelta(hours=hours)).replace(tzinfo=UTC)
        offset = probe.astimezone(zone).utcoffset()
        assert offset is not None
        offsets.append(offset)
    fits = sorted(
        {
            (wall_clock - offset).replace(tzinfo=UTC)
            for offset in offsets
            if ((wall_clock - offset).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None)
            == wall_clock
        }
    )
    if fits:
        return fits[0]
    return (wall_clock - offsets[0]).replace(tzinfo=UTC)


def reference_opening(calendar: Calendar, instant: datetime) -> datetime:
    """``instant`` if the office is open then, else the next opening, walking the days."""
    if not isinstance(calendar, WorkingCalendar):
        return instant
    local = instant.astimezone(calendar.zone)
    day = local.date()
    while True:
        if calendar.is_open_day(day):
            opening = reference_local(calendar, datetime.combine(day, calendar.opens))
            closing = reference_local(calendar, datetime.combine(day, calendar.closes))
            if instant < closing:
                return max(instant, opening)
        day += timedelta(days=1)
        instant = max(instant, reference_local(calendar, datetime.combine(day, time(0))))


def reference_add(calendar: Calendar, start: datetime, duration: Duration) -> datetime:
    local = start.astimezone(calendar.zone).replace(tzinfo=None)
    if duration.unit is DurationUnit.MONTHS:
        moved = local + relativedelta(months=duration.amount)
    else:
        moved = local + relativedelta(weeks=duration.amount)
    return reference_opening(calendar, reference_local(calendar, moved))


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, gregorian.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() + 1) % 7)


@st.composite
def starts(draw: st.DrawFn, calendar: Calendar) -> datetime:
    """Instants from 2025 to 2030: often at a month's end, on or near a clock change, on a
    bank holiday, or exactly at an opening or closing."""
    year = draw(st.integers(2025, 2030))
    month = draw(st.integers(1, 12))
    length = gregorian.monthrange(year, month)[1]
    day = draw(
        st.one_of(
            st.dates(date(2025, 1, 1), date(2030, 12, 31)),
            st.sampled_from([date(year, month, d) for d in range(28, length + 1)]),
            st.sampled_from(
                [
                    last_sunday(year, change) + timedelta(days=shift)
                    for change in (3, 10)
                    for shift in (-1, 0, 1)
                ]
            ),
            st.sampled_from(
                [
                    date(year, 12, 24),
                    date(year, 12, 25),
                    date(year, 12, 28),
                    date(year, 1, 1),
                    date(year, 5, 1),
                    date(year, 8, 31),
                ]
            ),
        )
    )
    moments = [draw(st.times()), time(1, 30), time(0, 30)]
    if isinstance(calendar, WorkingCalendar):
        moments += [calendar.opens, calendar.closes]
    wall_clock = datetime.combine(day, draw(st.sampled_from(moments)))
    return reference_local(calendar, wall_clock)


weeks_and_months = st.one_of(
    st.builds(Duration, st.integers(1, 120), st.just(DurationUnit.MONTHS)),
    st.builds(Duration, st.integers(1, 60), st.just(DurationUnit.WEEKS)),
)
PROPERTIES = settings(max_examples=400, deadline=None)


@PROPERTIES
@given(st.sampled_from(CALENDARS), st.data(), weeks_and_months)
def test_weeks_and_months_agree_with_the_reference(
    calendar: Calendar, data: st.DataObject, duration: Duration
) -> None:
    start = data.draw(starts(calendar))
    assert calendar.add(start, duration) == reference_add(calendar, start, duration)


@PROPERTIES
@given(st.sampled_from(CALENDARS), st.data(), weeks_and_months)
def test_on_a_working_calendar_they_land_in_working_time(
    calendar: Calendar, data: st.DataObject, duration: Duration
) -> None:
    start = data.draw(starts(calendar))
    result = calendar.add(start, duration)
    assert calendar.is_working_instant(result)
    assert result > start


@PROPERTIES
@given(st.sampled_from(CALENDARS), st.data(), st.integers(1, 119))
def test_a_month_more_is_never_earlier(
    calendar: Calendar, data: st.DataObject, months: int
) -> None:
    start = data.draw(starts(calendar))
    shorter = calendar.add(start, Duration(months, DurationUnit.MONTHS))
    longer = calendar.add(start, Duration(months + 1, DurationUnit.MONTHS))
    assert longer > shorter


@PROPERTIES
@given(st.sampled_from([ALWAYS, LONDON_ALL_DAY]), st.data(), st.integers(1, 120))
def test_a_month_is_28_to_31_days_of_wall_clock(
    calendar: Calendar, data: st.DataObject, months: int
) -> None:
    start = data.draw(starts(calendar))
    assume(calendar.to_local(start).time() < time(23))  # London's "closing" moves to midnight
    result = calendar.add(start, Duration(months, DurationUnit.MONTHS))
    first, last = calendar.to_local(start), calendar.to_local(result)
    days = (last.date() - first.date()).days
    assert 28 * months <= days <= 31 * months
    assert last.day == min(first.day, gregorian.monthrange(last.year, last.month)[1])


@PROPERTIES
@given(st.sampled_from(CALENDARS), st.data(), st.integers(1, 400))
def test_days_keep_the_wall_clock_and_do_not_move(
    calendar: Calendar, data: st.DataObject, days: int
) -> None:
    start = data.draw(starts(calendar))
    local = start.astimezone(calendar.zone).replace(tzinfo=None)
    expected = reference_local(calendar, local + timedelta(days=days))
    assert calendar.add(start, Duration(days, DurationUnit.DAYS)) == expected
