"""The arithmetic of a recurring task's series: when each occurrence falls due.

Pure functions of a recurrence, a calendar and the stops (case pauses) that moved it, so the
case rules and the tests agree on every date without a clock. Two cadences:

* ``schedule``: occurrence n + 1 falls due n intervals after the first, counted from the
  first every time (not from the one before), so a late visit never drags the next along
  and "1 month" from 31 January stays on month ends: 28 February, 31 March, 30 April.
* ``completion``: the next falls due one interval after the previous was done.

Paused time is not counted, as for an SLA clock: a pause moves every later occurrence on
by the working time it lasted. A series bounded ``for`` a period has no occurrence due at
or after the period's end, which a pause moves on too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from definitions.durations import MAXIMUM, Duration, parse_duration
from definitions.schema import Recurrence, RecurrenceFrom

from .calendars import Calendar
from .sla import Interval, shift

__all__ = ["intervals_after", "next_occurrence", "period_end"]


def intervals_after(calendar: Calendar, anchor: datetime, every: Duration, count: int) -> datetime:
    """`count` intervals of `every` after `anchor`, as one span where the limits allow.

    A span is one addition (`Calendar.add`) so that months keep their day: 3 months after
    31 January is 30 April, not 28 April as three additions of a month would give. Spans
    longer than a duration may be (about ten years) are added in parts.
    """
    if count < 0:
        raise ValueError(f"an occurrence cannot fall {count} intervals after the first")
    most = max(1, MAXIMUM[every.unit] // every.amount)
    at = anchor
    while count > 0:
        step = min(count, most)
        at = calendar.add(at, Duration(every.amount * step, every.unit))
        count -= step
    return at


def period_end(
    calendar: Calendar, recurrence: Recurrence, first_at: datetime, stops: Iterable[Interval]
) -> datetime | None:
    """When a series bounded by `for` runs out: no occurrence falls due then or later."""
    if recurrence.for_ is None:
        return None
    end = calendar.add(first_at, parse_duration(recurrence.for_))
    return shift(calendar, first_at, end, stops)


def next_occurrence(
    calendar: Calendar,
    recurrence: Recurrence,
    *,
    first_at: datetime,
    occurrences: int,
    last_done_at: datetime | None,
    stops: Iterable[Interval] = (),
) -> datetime | None:
    """When occurrence `occurrences` + 1 falls due, or None if the series has no more.

    `first_at` is when the first fell due, `occurrences` how many the series has had so
    far, `last_done_at` when the latest was completed (the anchor of a `completion`
    cadence, which has no next until then).
    """
    stops = list(stops)
    if recurrence.times is not None and occurrences >= recurrence.times:
        return None
    every = parse_duration(recurrence.every)
    if recurrence.from_ is RecurrenceFrom.schedule:
        anchor, count = first_at, occurrences
    else:
        if last_done_at is None:
            return None
        anchor, count = last_done_at, 1
    due = shift(calendar, anchor, intervals_after(calendar, anchor, every, count), stops)
    end = period_end(calendar, recurrence, first_at, stops)
    if end is not None and due >= end:
        return None
    return due
