"""Calendars that turn an SLA target into a due instant, and measure working time.

Pure functions of their inputs (no wall clock, no I/O beyond the ``holidays`` package's
tables), so workflows and activities can call them and tests can pin them down exactly.

All instants in and out are timezone-aware. Results are returned in UTC: comparing or
subtracting aware datetimes that share a ``ZoneInfo`` uses wall-clock fields and is wrong
across a DST change, UTC never is. Use ``Calendar.to_local`` for display.

Units (see ``Calendar.add``):

* ``seconds``, ``minutes``, ``hours``: elapsed time.
* ``days``: calendar days in the calendar's time zone: the same local wall-clock time N days
  later (so "1 day" across the spring DST change is 23 hours elapsed). Closed days are not
  skipped; the due instant may fall outside working time. (Running cases count days this
  way: it does not change.)
* ``weeks``: 7 x N calendar days, like ``days``; ``months``: the same local day of the
  month and wall-clock time N months later, or the month's last day when it is shorter
  (1 month after 31 January is 28 February, or the 29th in a leap year). A wall-clock time
  the clocks skip moves forward by the gap, as everywhere here. On a working calendar a
  point N weeks or months later that is not working time (a closed day, or outside opening
  hours, the closing instant included) moves to the next opening: "1 week" after Friday
  18 December 2026 10:00 is Tuesday 29 December 09:00 in England, past Christmas Day and
  the substitute Boxing Day.
* ``working hours``, ``working days``: count only the calendar's open time (below).
"""

from __future__ import annotations

import calendar as gregorian
import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from definitions.bank_holidays import NATIONS, bank_holidays, unknown_nation
from definitions.calendars import (
    WEEKDAYS,
    CalendarDefinition,
    ContinuousCalendarDefinition,
)
from definitions.durations import Duration, DurationUnit, parse_duration

__all__ = [
    "UTC",
    "Calendar",
    "TwentyFourSeven",
    "WorkingCalendar",
    "calendar_for",
]

_DAY = timedelta(days=1)
_ZERO = timedelta(0)


def _as_utc(instant: datetime, what: str = "instant") -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} {instant.isoformat()} has no time zone; give an aware datetime")
    return instant.astimezone(UTC)


def _from_local(wall_clock: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive local wall-clock time in ``zone``.

    A time that does not exist (skipped when clocks go forward) moves forward by the gap;
    an ambiguous one (repeated when clocks go back) means its first occurrence.
    """
    return wall_clock.replace(tzinfo=zone, fold=0).astimezone(UTC)


class Calendar(ABC):
    """When the SLA clock runs. Subclasses: ``TwentyFourSeven`` and ``WorkingCalendar``."""

    name: str
    title: str

    @property
    @abstractmethod
    def zone(self) -> tzinfo:
        """The time zone whose wall clock defines days (and opening hours)."""

    def to_local(self, instant: datetime) -> datetime:
        """``instant`` in the calendar's time zone, for display."""
        return _as_utc(instant).astimezone(self.zone)

    def add(self, start: datetime, duration: Duration | str) -> datetime:
        """The due instant (UTC) ``duration`` after ``start`` (see the module docstring)."""
        begin = _as_utc(start, "start")
        if isinstance(duration, str):
            duration = parse_duration(duration)
        try:
            match duration.unit:
                case DurationUnit.WORKING_DAYS:
                    return self._add_working_days(begin, duration.amount)
                case DurationUnit.WORKING_HOURS:
                    return self.add_working_time(begin, timedelta(hours=duration.amount))
                case DurationUnit.DAYS:
                    return self._add_calendar_days(begin, duration.amount)
                case DurationUnit.WEEKS:
                    return self._weeks_later(begin, duration.amount)
                case DurationUnit.MONTHS:
                    return self.open_from(self._add_months(begin, duration.amount))
                case _:
                    return begin + duration.to_timedelta()
        except OverflowError:
            raise ValueError(
                f"{duration} after {start.isoformat()} is past the year 9999"
            ) from None

    def _add_calendar_days(self, begin: datetime, days: int) -> datetime:
        local = begin.astimezone(self.zone).replace(tzinfo=None)
        return _from_local(local + timedelta(days=days), self.zone)

    def _add_months(self, begin: datetime, months: int) -> datetime:
        local = begin.astimezone(self.zone).replace(tzinfo=None)
        years, month_index = divmod(local.month - 1 + months, 12)
        year, month = local.year + years, month_index + 1
        if year > datetime.max.year:
            raise OverflowError(f"year {year} is out of range")
        day = min(local.day, gregorian.monthrange(year, month)[1])
        return _from_local(local.replace(year=year, month=month, day=day), self.zone)

    def open_from(self, instant: datetime) -> datetime:
        """``instant`` (UTC) if the calendar is open then, else its next opening.

        Where weeks and months land on a working calendar; around the clock, ``instant``.
        """
        return _as_utc(instant)

    def _weeks_later(self, begin: datetime, weeks: int) -> datetime:
        return self.open_from(self._add_calendar_days(begin, 7 * weeks))

    @abstractmethod
    def _add_working_days(self, begin: datetime, days: int) -> datetime: ...

    @abstractmethod
    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed from ``start`` to ``end``; zero if ``end`` is not later."""

    @abstractmethod
    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant (UTC) at which ``amount`` of working time has elapsed since ``start``.

        The inverse of ``working_time_between``; used to move due points by paused time.
        A zero amount gives ``start`` back unchanged.
        """

    @abstractmethod
    def is_working_instant(self, instant: datetime) -> bool:
        """True if the SLA clock runs at ``instant``."""


@dataclass(frozen=True)
class TwentyFourSeven(Calendar):
    """Every instant is working time: a working day is 24 hours, a working hour an hour.

    Days are UTC days, so "3 days" is exactly 72 hours elapsed.
    """

    name: str = "24x7"
    title: str = ""

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)

    @property
    def zone(self) -> tzinfo:
        return UTC

    def _add_working_days(self, begin: datetime, days: int) -> datetime:
        return begin + timedelta(days=days)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        return max(_ZERO, _as_utc(end, "end") - _as_utc(start, "start"))

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        _check_amount(amount)
        return _as_utc(start, "start") + amount

    def is_working_instant(self, instant: datetime) -> bool:
        _as_utc(instant)
        return True


@dataclass(frozen=True)
class WorkingCalendar(Calendar):
    """Open from ``opens`` to ``closes`` local time on working days that are not closed.

    A day is closed if its weekday is not in ``working_days`` (Monday=0 ... Sunday=6), it is
    a bank holiday of ``nation`` (None: no bank holidays), or it is in ``extra_closures``.
    Opening hours are local wall-clock hours in ``timezone`` (09:00-17:00 in Europe/London
    means 09:00-17:00 GMT in winter and BST in summer). Working time on a day is the
    half-open interval [opens, closes): the closing instant itself is not working time.

    Working hours: the clock runs only while open; if ``start`` is closed it starts at the
    next opening. A due point landing exactly at closing time is that closing instant, not
    the next opening: 4 working hours from 13:00 is 17:00 the same day.

    Working days: ``start`` is first moved to the next opening if the office is closed; the
    due point is then the same local time of day N working days later. Thursday
    2026-12-24 10:00 + 1 working day is Tuesday 2026-12-29 10:00 in England (Christmas Day
    and the substitute Boxing Day are skipped). When the clock starts exactly at an opening
    (a start outside hours, or one at opening time) the due point is the closing instant of
    the Nth working day counting that first day, which is the same amount of working time
    as the following opening but reads as "end of Friday": Saturday 10:00 + 5 working days
    is the next Friday 17:00. With a constant working day length, the working time from
    start to the due point is always N working days (N x 8 hours for 09:00-17:00).
    """

    name: str
    timezone: str
    working_days: frozenset[int] = frozenset(range(5))
    opens: time = time(9)
    closes: time = time(17)
    nation: str | None = None
    extra_closures: frozenset[date] = frozenset()
    title: str = ""
    weeks_move_to_opening: bool = True
    """False: N weeks is 7 x N days and lands where it falls, closed or not, as it did
    before weeks moved to the next opening; for a case whose history was recorded then."""
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("working_days", frozenset(self.working_days))
        set_("extra_closures", frozenset(self.extra_closures))
        if not self.title:
            set_("title", self.name)
        try:
            set_("_zone", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f'"{self.timezone}" is not a known time zone') from None
        if not self.working_days or not self.working_days <= set(range(7)):
            raise ValueError("working_days must be weekday numbers 0 (Monday) to 6 (Sunday)")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times without a time zone")
        if self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be after opens ({self.opens})")
        if self.nation is not None and self.nation not in NATIONS:
            raise ValueError(unknown_nation(self.nation))

    @property
    def zone(self) -> tzinfo:
        return self._zone

    # -- days ----------------------------------------------------------------------------------

    def is_open_day(self, day: date) -> bool:
        """True if the office opens on local date ``day``."""
        return (
            day.weekday() in self.working_days
            and day not in self.extra_closures
            and (self.nation is None or day not in bank_holidays(self.nation, day.year))
        )

    def opening_hours(self, day: date) -> tuple[datetime, datetime]:
        """The UTC opening and closing instants of local date ``day`` (open or not)."""
        return (
            _from_local(datetime.combine(day, self.opens), self._zone),
            _from_local(datetime.combine(day, self.closes), self._zone),
        )

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def _next_open_day(self, day: date) -> date:
        while True:
            if day == date.max:
                raise ValueError("no working day before the end of the year 9999")
            day += _DAY
            if self.is_open_day(day):
                return day

    def open_from(self, instant: datetime) -> datetime:
        return self.next_working_instant(instant)

    def _weeks_later(self, begin: datetime, weeks: int) -> datetime:
        point = self._add_calendar_days(begin, 7 * weeks)
        return self.open_from(point) if self.weeks_move_to_opening else point

    def next_working_instant(self, instant: datetime) -> datetime:
        """``instant`` (UTC) if it is working time, else the next opening."""
        moment = _as_utc(instant)
        day = self._local_date(moment)
        if self.is_open_day(day):
            opening, closing = self.opening_hours(day)
            if moment < closing:
                return max(moment, opening)
        return self.opening_hours(self._next_open_day(day))[0]

    # -- Calendar ------------------------------------------------------------------------------

    def is_working_instant(self, instant: datetime) -> bool:
        moment = _as_utc(instant)
        day = self._local_date(moment)
        if not self.is_open_day(day):
            return False
        opening, closing = self.opening_hours(day)
        return opening <= moment < closing

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        begin, finish = _as_utc(start, "start"), _as_utc(end, "end")
        total = _ZERO
        if finish <= begin:
            return total
        day, last = self._local_date(begin), self._local_date(finish)
        while day <= last:
            if self.is_open_day(day):
                opening, closing = self.opening_hours(day)
                overlap = min(closing, finish) - max(opening, begin)
                if overlap > _ZERO:
                    total += overlap
            if day == date.max:
                break
            day += _DAY
        return total

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        _check_amount(amount)
        moment = _as_utc(start, "start")
        if not amount:
            return moment
        remaining = amount
        day = self._local_date(moment)
        if not self.is_open_day(day):
            day = self._next_open_day(day)
        while True:
            opening, closing = self.opening_hours(day)
            available = closing - max(opening, moment)
            if available > _ZERO:
                if remaining <= available:
                    return max(opening, moment) + remaining
                remaining -= available
            day = self._next_open_day(day)

    def _add_working_days(self, begin: datetime, days: int) -> datetime:
        moment = self.next_working_instant(begin)
        day = self._local_date(moment)
        opening, _ = self.opening_hours(day)
        if moment == opening:
            # Clock starts at an opening: due at the close of the Nth working day.
            for _ in range(days - 1):
                day = self._next_open_day(day)
            return self.opening_hours(day)[1]
        time_of_day = moment.astimezone(self._zone).time().replace(fold=0)
        for _ in range(days):
            day = self._next_open_day(day)
        return _from_local(datetime.combine(day, time_of_day), self._zone)

    @classmethod
    def office_hours(
        cls,
        name: str,
        nation: str | None,
        *,
        timezone: str = "Europe/London",
        extra_closures: Iterable[date] = (),
        title: str = "",
    ) -> WorkingCalendar:
        """Monday to Friday, 09:00-17:00: the usual housing office."""
        return cls(
            name=name,
            timezone=timezone,
            nation=nation,
            extra_closures=frozenset(extra_closures),
            title=title,
        )


def _check_amount(amount: timedelta) -> None:
    if not isinstance(amount, timedelta):
        raise TypeError(f"amount must be a timedelta, not {type(amount).__name__}")
    if amount < _ZERO:
        raise ValueError(f"amount of working time must not be negative, got {amount}")


def calendar_for(
    definition: CalendarDefinition | None, *, weeks_move_to_opening: bool = True
) -> Calendar:
    """The calendar a definition describes; around the clock when there is none.

    A working-time definition that carries its bank holidays as dates (a case snapshot)
    counts them as closures and never asks the holidays package again, so a running case
    keeps the holidays it opened with. ``weeks_move_to_opening=False`` counts weeks as
    they were counted before they moved to the next opening (see `WorkingCalendar`), for a
    history recorded then.
    """
    if definition is None:
        return TwentyFourSeven()
    if isinstance(definition, ContinuousCalendarDefinition):
        return TwentyFourSeven(name=definition.id, title=definition.name)
    carried = bool(definition.bank_holiday_dates)
    return WorkingCalendar(
        name=definition.id,
        title=definition.name,
        timezone=definition.timezone,
        working_days=frozenset(WEEKDAYS.index(day) for day in definition.working_days),
        opens=definition.opens,
        closes=definition.closes,
        nation=None if carried else definition.bank_holidays,
        extra_closures=frozenset(definition.extra_closures)
        | frozenset(definition.bank_holiday_dates),
        weeks_move_to_opening=weeks_move_to_opening,
    )
