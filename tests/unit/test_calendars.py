"""Working-time calendars: hand-worked examples, then properties.

Bank holiday facts the examples rely on are asserted against the ``holidays`` package in
``test_the_bank_holidays_the_examples_rely_on`` rather than trusted from memory.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casemodel.calendars import UTC, Calendar, TwentyFourSeven, WorkingCalendar
from definitions.bank_holidays import NATIONS, bank_holidays
from definitions.durations import Duration, DurationUnit, parse_duration

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar.office_hours("england-and-wales", "england-and-wales")
SCOTLAND = WorkingCalendar.office_hours("scotland", "scotland")
NORTHERN_IRELAND = WorkingCalendar.office_hours("northern-ireland", "northern-ireland")
CHRISTMAS_CLOSURE = WorkingCalendar.office_hours(
    "england-and-wales-christmas-closure",
    "england-and-wales",
    extra_closures=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)],
)
ALWAYS = TwentyFourSeven()
# Not a UK office: another zone, Tuesday to Saturday, odd hours, no bank holidays.
NEW_YORK = WorkingCalendar(
    name="new-york",
    timezone="America/New_York",
    working_days=frozenset({1, 2, 3, 4, 5}),
    opens=time(7, 30),
    closes=time(19, 15),
    extra_closures=frozenset({date(2026, 7, 4)}),
)
CALENDARS = [ENGLAND, SCOTLAND, NORTHERN_IRELAND, CHRISTMAS_CLOSURE, ALWAYS, NEW_YORK]
CALENDAR_BY_NAME = {calendar.name: calendar for calendar in CALENDARS}


def london(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LONDON)  # type: ignore[misc]


def due(calendar: Calendar, start: datetime, duration: str) -> datetime:
    return calendar.add(start, parse_duration(duration))


# -- the facts the examples rely on ------------------------------------------------------------


def test_the_bank_holidays_the_examples_rely_on() -> None:
    england = holidays.UK(subdiv="ENG", years=[2025, 2026, 2027])
    wales = holidays.UK(subdiv="WLS", years=[2025, 2026, 2027])
    scotland = holidays.UK(subdiv="SCT", years=[2025, 2026, 2027])
    northern_ireland = holidays.UK(subdiv="NIR", years=[2025, 2026, 2027])
    assert set(england) == set(wales)
    for day in ["2026-12-25", "2026-12-28", "2027-01-01", "2026-04-03", "2026-04-06"]:
        assert date.fromisoformat(day) in england
    assert date(2026, 12, 28) in england  # Boxing Day (Saturday) observed on Monday
    for day in ["2026-01-02", "2027-01-04", "2026-04-03"]:
        assert date.fromisoformat(day) in scotland
    assert date(2026, 4, 6) not in scotland  # no Easter Monday in Scotland
    assert date(2026, 1, 2) not in england
    assert date(2027, 1, 4) not in england
    for day in ["2026-03-17", "2026-07-13"]:
        assert date.fromisoformat(day) in northern_ireland
        assert date.fromisoformat(day) not in england
    # The last Sundays of March and October 2026, when UK clocks change.
    assert london(2026, 3, 29, 0, 30).utcoffset() == timedelta(0)
    assert london(2026, 3, 29, 3).utcoffset() == timedelta(hours=1)
    assert london(2026, 10, 25, 0, 30).utcoffset() == timedelta(hours=1)
    assert london(2026, 10, 25, 3).utcoffset() == timedelta(0)


def test_bank_holidays_match_the_package_for_each_nation() -> None:
    for nation, subdivision in NATIONS.items():
        assert bank_holidays(nation, 2026) == frozenset(holidays.UK(subdiv=subdivision, years=2026))
    with pytest.raises(ValueError, match="not a UK nation"):
        bank_holidays("wales", 2026)


# -- working days ------------------------------------------------------------------------------

WORKING_DAY_EXAMPLES = [
    # Wed before Christmas: Thu 24 (1), Fri 25 and Mon 28 are bank holidays, Tue 29 (2),
    # Wed 30 (3), Thu 31 (4), Fri 1 Jan bank holiday, Mon 4 Jan (5).
    (ENGLAND, london(2026, 12, 23, 10), "5 working days", london(2027, 1, 4, 10)),
    # The Christmas closure also closes 29-31 December.
    (CHRISTMAS_CLOSURE, london(2026, 12, 23, 10), "5 working days", london(2027, 1, 7, 10)),
    (CHRISTMAS_CLOSURE, london(2026, 12, 24, 10), "2 working days", london(2027, 1, 5, 10)),
    (ENGLAND, london(2026, 12, 24, 10), "1 working day", london(2026, 12, 29, 10)),
    # Year end: Scotland also closes on 2 January (observed on Monday 4 January in 2027).
    (ENGLAND, london(2026, 12, 31, 10), "1 working day", london(2027, 1, 4, 10)),
    (SCOTLAND, london(2026, 12, 31, 10), "1 working day", london(2027, 1, 5, 10)),
    (ENGLAND, london(2025, 12, 31, 10), "1 working day", london(2026, 1, 2, 10)),
    (SCOTLAND, london(2025, 12, 31, 10), "1 working day", london(2026, 1, 5, 10)),
    # Northern Ireland: St Patrick's Day, and the Twelfth observed on Monday 13 July.
    (NORTHERN_IRELAND, london(2026, 3, 16, 10), "1 working day", london(2026, 3, 18, 10)),
    (ENGLAND, london(2026, 3, 16, 10), "1 working day", london(2026, 3, 17, 10)),
    (NORTHERN_IRELAND, london(2026, 7, 10, 14), "1 working day", london(2026, 7, 14, 14)),
    (ENGLAND, london(2026, 7, 10, 14), "1 working day", london(2026, 7, 13, 14)),
    # Weekend.
    (ENGLAND, london(2026, 6, 5, 16, 30), "1 working day", london(2026, 6, 8, 16, 30)),
    (ENGLAND, london(2026, 6, 5, 16, 30), "10 working days", london(2026, 6, 19, 16, 30)),
    # DST: same local time across the change, 10:00 GMT -> 10:00 BST and back.
    (ENGLAND, london(2026, 3, 27, 10), "1 working day", london(2026, 3, 30, 10)),
    (ENGLAND, london(2026, 10, 23, 10), "1 working day", london(2026, 10, 26, 10)),
    # Start outside hours: the clock starts at the next opening; the due point is then the
    # close of the Nth working day counting that first day.
    (ENGLAND, london(2026, 6, 6, 10), "5 working days", london(2026, 6, 12, 17)),
    (ENGLAND, london(2026, 6, 8, 7), "1 working day", london(2026, 6, 8, 17)),
    (ENGLAND, london(2026, 6, 8, 21), "1 working day", london(2026, 6, 9, 17)),
    (ENGLAND, london(2026, 12, 24, 18), "1 working day", london(2026, 12, 29, 17)),
    # Start exactly at opening or at closing.
    (ENGLAND, london(2026, 6, 8, 9), "1 working day", london(2026, 6, 8, 17)),
    (ENGLAND, london(2026, 6, 12, 17), "1 working day", london(2026, 6, 15, 17)),
    (ENGLAND, london(2026, 6, 12, 16, 59), "1 working day", london(2026, 6, 15, 16, 59)),
    # Easter: Good Friday everywhere, Easter Monday not in Scotland.
    (ENGLAND, london(2026, 4, 2, 11), "1 working day", london(2026, 4, 7, 11)),
    (SCOTLAND, london(2026, 4, 2, 11), "1 working day", london(2026, 4, 6, 11)),
]


@pytest.mark.parametrize(("calendar", "start", "duration", "expected"), WORKING_DAY_EXAMPLES)
def test_working_days(
    calendar: Calendar, start: datetime, duration: str, expected: datetime
) -> None:
    assert due(calendar, start, duration) == expected


# -- working hours -----------------------------------------------------------------------------

WORKING_HOUR_EXAMPLES = [
    # Landing exactly at closing gives the closing instant, not the next opening.
    (ENGLAND, london(2026, 12, 24, 13), "4 working hours", london(2026, 12, 24, 17)),
    (ENGLAND, london(2026, 12, 24, 13), "5 working hours", london(2026, 12, 29, 10)),
    (ENGLAND, london(2026, 6, 8, 9), "8 working hours", london(2026, 6, 8, 17)),
    (ENGLAND, london(2026, 6, 8, 9), "9 working hours", london(2026, 6, 9, 10)),
    # Start outside hours.
    (ENGLAND, london(2026, 6, 8, 8), "4 working hours", london(2026, 6, 8, 13)),
    (ENGLAND, london(2026, 6, 9, 18), "1 working hour", london(2026, 6, 10, 10)),
    (ENGLAND, london(2026, 6, 6, 12), "1 working hour", london(2026, 6, 8, 10)),
    (ENGLAND, london(2026, 6, 12, 17), "1 working hour", london(2026, 6, 15, 10)),
    # DST weekend: Friday 16:00 GMT + 2 working hours is Monday 10:00 BST.
    (ENGLAND, london(2026, 3, 27, 16), "2 working hours", london(2026, 3, 30, 10)),
    (ENGLAND, london(2026, 10, 23, 16), "2 working hours", london(2026, 10, 26, 10)),
    # Easter.
    (ENGLAND, london(2026, 4, 2, 15), "3 working hours", london(2026, 4, 7, 10)),
    (SCOTLAND, london(2026, 4, 2, 15), "3 working hours", london(2026, 4, 6, 10)),
    # Many days.
    (ENGLAND, london(2026, 12, 23, 10), "40 working hours", london(2027, 1, 4, 10)),
]


@pytest.mark.parametrize(("calendar", "start", "duration", "expected"), WORKING_HOUR_EXAMPLES)
def test_working_hours(
    calendar: Calendar, start: datetime, duration: str, expected: datetime
) -> None:
    assert due(calendar, start, duration) == expected


# -- calendar units ----------------------------------------------------------------------------

CALENDAR_UNIT_EXAMPLES = [
    # Plain days do not skip weekends or bank holidays, even in a working calendar.
    (ENGLAND, london(2026, 12, 18, 10), "3 days", london(2026, 12, 21, 10)),
    # Weeks do: two weeks later is New Year's Day, so the due point is the next opening.
    (ENGLAND, london(2026, 12, 18, 10), "2 weeks", london(2027, 1, 4, 9)),
    # Days keep the local wall-clock time: 23 hours elapsed across the spring change...
    (ENGLAND, london(2026, 3, 28, 12), "1 day", london(2026, 3, 29, 12)),
    (ENGLAND, london(2026, 10, 24, 12), "1 day", london(2026, 10, 25, 12)),
    # ...a wall-clock time the clocks skip moves on by the gap (01:30 GMT -> 02:30 BST).
    (ENGLAND, london(2026, 3, 28, 1, 30), "1 day", london(2026, 3, 29, 2, 30)),
    # Hours, minutes and seconds are elapsed time.
    (ENGLAND, london(2026, 3, 28, 12), "24 hours", london(2026, 3, 29, 13)),
    (ENGLAND, london(2026, 6, 6, 23, 50), "30 minutes", london(2026, 6, 7, 0, 20)),
    (ENGLAND, london(2026, 6, 6, 23, 59, 30), "45 seconds", london(2026, 6, 7, 0, 0, 15)),
    # 24x7 counts in UTC: a day is always 24 hours.
    (ALWAYS, london(2026, 3, 28, 12), "1 day", london(2026, 3, 29, 13)),
    (ALWAYS, london(2026, 3, 28, 12), "1 working day", london(2026, 3, 29, 13)),
    (ALWAYS, london(2026, 12, 24, 13), "5 working hours", london(2026, 12, 24, 18)),
    (ALWAYS, london(2026, 12, 23, 10), "5 working days", london(2026, 12, 28, 10)),
    (ALWAYS, london(2026, 12, 23, 10), "2 weeks", london(2027, 1, 6, 10)),
]


@pytest.mark.parametrize(("calendar", "start", "duration", "expected"), CALENDAR_UNIT_EXAMPLES)
def test_calendar_units(
    calendar: Calendar, start: datetime, duration: str, expected: datetime
) -> None:
    assert due(calendar, start, duration) == expected


def test_results_are_utc_and_to_local_shows_the_offset() -> None:
    result = ENGLAND.add(london(2026, 6, 8, 10), Duration(1, DurationUnit.WORKING_HOURS))
    assert result.tzinfo is UTC
    assert result == datetime(2026, 6, 8, 10, tzinfo=UTC)
    assert ENGLAND.to_local(result).isoformat() == "2026-06-08T11:00:00+01:00"
    assert ALWAYS.to_local(result).isoformat() == "2026-06-08T10:00:00+00:00"


def test_add_accepts_the_text_form() -> None:
    assert ENGLAND.add(london(2026, 6, 8, 10), "1 working day") == london(2026, 6, 9, 10)


# -- working time between, add working time ----------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "end", "hours"),
    [
        (ENGLAND, london(2026, 12, 24, 9), london(2027, 1, 5, 9), 5 * 8),
        (CHRISTMAS_CLOSURE, london(2026, 12, 24, 9), london(2027, 1, 5, 9), 2 * 8),
        (SCOTLAND, london(2026, 12, 24, 9), london(2027, 1, 6, 9), 5 * 8),
        (ENGLAND, london(2026, 6, 5, 16), london(2026, 6, 8, 10), 2),
        (ENGLAND, london(2026, 6, 6, 0), london(2026, 6, 7, 23), 0),
        (ENGLAND, london(2026, 3, 27, 16), london(2026, 3, 30, 10), 2),
        (ENGLAND, london(2026, 6, 8, 12), london(2026, 6, 8, 11), 0),
        (ALWAYS, london(2026, 3, 28, 12), london(2026, 3, 29, 12), 23),
        (ALWAYS, london(2026, 3, 29, 12), london(2026, 3, 28, 12), 0),
    ],
)
def test_working_time_between(
    calendar: Calendar, start: datetime, end: datetime, hours: int
) -> None:
    assert calendar.working_time_between(start, end) == timedelta(hours=hours)


def test_add_working_time_moves_a_due_point_after_a_pause() -> None:
    # Due Tuesday 29 Dec 14:00; paused from Wednesday 23 Dec 15:00 to Thursday 24 Dec 11:00:
    # 2 + 2 = 4 working hours paused, so the due point moves by 3 hours to the close of the
    # 29th and 1 more hour: Wednesday 30 Dec 10:00.
    paused = ENGLAND.working_time_between(london(2026, 12, 23, 15), london(2026, 12, 24, 11))
    assert paused == timedelta(hours=4)
    assert ENGLAND.add_working_time(london(2026, 12, 29, 14), paused) == london(2026, 12, 30, 10)
    assert ENGLAND.add_working_time(london(2026, 12, 29, 13), paused) == london(2026, 12, 29, 17)
    # A due point at closing moves into the next working day.
    assert ENGLAND.add_working_time(london(2026, 12, 24, 17), paused) == london(2026, 12, 29, 13)


def test_add_working_time_edges() -> None:
    saturday = london(2026, 6, 6, 10)
    assert ENGLAND.add_working_time(saturday, timedelta(0)) == saturday
    assert ENGLAND.add_working_time(saturday, timedelta(microseconds=1)) == london(
        2026, 6, 8, 9, 0, 0, 1
    )
    with pytest.raises(ValueError, match="negative"):
        ENGLAND.add_working_time(saturday, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="negative"):
        ALWAYS.add_working_time(saturday, timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        (london(2026, 6, 8, 9), True),
        (london(2026, 6, 8, 16, 59, 59, 999999), True),
        (london(2026, 6, 8, 17), False),
        (london(2026, 6, 8, 8, 59, 59), False),
        (london(2026, 6, 6, 12), False),
        (london(2026, 12, 25, 12), False),
        (london(2026, 12, 28, 12), False),
        (london(2026, 12, 29, 12), True),
    ],
)
def test_is_working_instant(instant: datetime, working: bool) -> None:
    assert ENGLAND.is_working_instant(instant) is working
    assert ALWAYS.is_working_instant(instant)


def test_extra_closures_close_the_day() -> None:
    assert ENGLAND.is_working_instant(london(2026, 12, 30, 12))
    assert not CHRISTMAS_CLOSURE.is_working_instant(london(2026, 12, 30, 12))


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("calendar", [ENGLAND, ALWAYS])
def test_naive_datetimes_are_refused(calendar: Calendar) -> None:
    naive = datetime(2026, 6, 8, 10)
    aware = london(2026, 6, 8, 10)
    with pytest.raises(ValueError, match="no time zone"):
        calendar.add(naive, Duration(1, DurationUnit.DAYS))
    with pytest.raises(ValueError, match="no time zone"):
        calendar.working_time_between(naive, aware)
    with pytest.raises(ValueError, match="no time zone"):
        calendar.working_time_between(aware, naive)
    with pytest.raises(ValueError, match="no time zone"):
        calendar.add_working_time(naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="no time zone"):
        calendar.is_working_instant(naive)


def test_past_the_end_of_time_is_a_value_error() -> None:
    late = datetime(9999, 12, 20, tzinfo=UTC)
    for calendar in (ENGLAND, ALWAYS):
        for duration in ("30 days", "30 working days", "300 working hours", "1000 hours"):
            with pytest.raises(ValueError, match="9999"):
                due(calendar, late, duration)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Londn"}, "not a known time zone"),
        ({"working_days": frozenset()}, "working_days"),
        ({"working_days": frozenset({7})}, "working_days"),
        ({"opens": time(17), "closes": time(9)}, "must be after"),
        ({"opens": time(9), "closes": time(9)}, "must be after"),
        ({"nation": "wales"}, "not a UK nation"),
    ],
)
def test_working_calendar_refuses_nonsense(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"name": "x", "timezone": "Europe/London"} | changes
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(**fields)  # type: ignore[arg-type]


def test_calendars_are_values() -> None:
    same = WorkingCalendar.office_hours("england-and-wales", "england-and-wales")
    assert same == ENGLAND
    assert hash(ENGLAND) == hash(
        WorkingCalendar.office_hours("england-and-wales", "england-and-wales")
    )
    assert ENGLAND != SCOTLAND
    assert ENGLAND.title == "england-and-wales"
    assert ALWAYS.name == "24x7"


# -- properties --------------------------------------------------------------------------------


@st.composite
def calendars_and_instants(draw: st.DrawFn) -> tuple[Calendar, datetime]:
    calendar = draw(st.sampled_from(CALENDARS))
    return calendar, draw(instants_in(calendar))


@st.composite
def instants_in(draw: st.DrawFn, calendar: Calendar) -> datetime:
    """Instants from 2025 to 2028, often exactly at an opening or closing."""
    day = draw(st.dates(date(2025, 1, 1), date(2028, 12, 31)))
    choices = [draw(st.times())]
    if isinstance(calendar, WorkingCalendar):
        choices += [calendar.opens, calendar.closes]
    moment = datetime.combine(day, draw(st.sampled_from(choices)), tzinfo=calendar.zone)
    return moment.astimezone(UTC)


@st.composite
def later(draw: st.DrawFn, calendar: Calendar, start: datetime) -> datetime:
    """An instant up to five weeks after ``start``, often exactly at an opening or closing."""
    moment = start + draw(st.timedeltas(timedelta(0), timedelta(days=35)))
    if isinstance(calendar, WorkingCalendar) and draw(st.booleans()):
        day = calendar.to_local(moment).date()
        snapped = draw(st.sampled_from(calendar.opening_hours(day)))
        moment = max(snapped, start)
    return moment


working_durations = st.one_of(
    st.builds(Duration, st.integers(1, 40), st.just(DurationUnit.WORKING_DAYS)),
    st.builds(Duration, st.integers(1, 300), st.just(DurationUnit.WORKING_HOURS)),
)
amounts = st.timedeltas(timedelta(0), timedelta(days=20))


def working_day_length(calendar: Calendar) -> timedelta:
    if isinstance(calendar, WorkingCalendar):
        today = date(2000, 1, 1)
        return datetime.combine(today, calendar.closes) - datetime.combine(today, calendar.opens)
    return timedelta(days=1)


def is_closing_instant(calendar: Calendar, instant: datetime) -> bool:
    if not isinstance(calendar, WorkingCalendar):
        return False
    day = calendar.to_local(instant).date()
    return calendar.is_open_day(day) and calendar.opening_hours(day)[1] == instant


FAST = settings(max_examples=150, deadline=None)


@FAST
@given(calendars_and_instants(), working_durations)
def test_working_due_points_are_working_instants_or_closings(
    calendar_and_start: tuple[Calendar, datetime], duration: Duration
) -> None:
    calendar, start = calendar_and_start
    result = calendar.add(start, duration)
    assert result > start
    assert calendar.is_working_instant(result) or is_closing_instant(calendar, result)


@FAST
@given(calendars_and_instants(), working_durations)
def test_working_due_points_are_exactly_that_much_working_time_away(
    calendar_and_start: tuple[Calendar, datetime], duration: Duration
) -> None:
    calendar, start = calendar_and_start
    unit = (
        working_day_length(calendar)
        if duration.unit is DurationUnit.WORKING_DAYS
        else timedelta(hours=1)
    )
    result = calendar.add(start, duration)
    assert calendar.working_time_between(start, result) == duration.amount * unit


@FAST
@given(calendars_and_instants(), st.data())
def test_due_points_move_forward_with_the_start(
    calendar_and_start: tuple[Calendar, datetime], data: st.DataObject
) -> None:
    calendar, first = calendar_and_start
    second = data.draw(later(calendar, first))
    duration = data.draw(working_durations)
    assert calendar.add(first, duration) <= calendar.add(second, duration)


@FAST
@given(calendars_and_instants(), amounts)
def test_add_working_time_inverts_working_time_between(
    calendar_and_start: tuple[Calendar, datetime], amount: timedelta
) -> None:
    calendar, start = calendar_and_start
    end = calendar.add_working_time(start, amount)
    assert end >= start
    assert calendar.working_time_between(start, end) == amount


@FAST
@given(calendars_and_instants(), amounts, amounts)
def test_add_working_time_is_additive(
    calendar_and_start: tuple[Calendar, datetime], first: timedelta, second: timedelta
) -> None:
    calendar, start = calendar_and_start
    in_steps = calendar.add_working_time(calendar.add_working_time(start, first), second)
    assert in_steps == calendar.add_working_time(start, first + second)


@FAST
@given(calendars_and_instants(), st.data())
def test_working_time_between_is_additive(
    calendar_and_start: tuple[Calendar, datetime], data: st.DataObject
) -> None:
    calendar, start = calendar_and_start
    middle = data.draw(later(calendar, start))
    end = data.draw(later(calendar, middle))
    between = calendar.working_time_between
    assert between(start, end) == between(start, middle) + between(middle, end)
    assert between(end, start) == timedelta(0)


@FAST
@given(calendars_and_instants(), working_durations, st.data())
def test_pausing_moves_due_points_monotonically(
    calendar_and_start: tuple[Calendar, datetime], duration: Duration, data: st.DataObject
) -> None:
    calendar, start = calendar_and_start
    paused = data.draw(later(calendar, start))
    resumed = data.draw(later(calendar, paused))
    resumed_later = data.draw(later(calendar, resumed))
    due_point = calendar.add(start, duration)

    def moved(resumed_at: datetime) -> datetime:
        return calendar.add_working_time(
            due_point, calendar.working_time_between(paused, resumed_at)
        )

    assert due_point <= moved(paused) <= moved(resumed) <= moved(resumed_later)
    if resumed <= due_point:
        # Working time to the moved due point, less the pause, is still the target.
        pause = calendar.working_time_between(paused, resumed)
        assert calendar.working_time_between(start, moved(resumed)) - pause == (
            calendar.working_time_between(start, due_point)
        )


@FAST
@given(calendars_and_instants())
def test_zero_working_time_changes_nothing(
    calendar_and_start: tuple[Calendar, datetime],
) -> None:
    calendar, start = calendar_and_start
    assert calendar.add_working_time(start, timedelta(0)) == start
    assert calendar.working_time_between(start, start) == timedelta(0)
