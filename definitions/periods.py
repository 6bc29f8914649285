"""Periods of effect: from which day, to which day, a definition or a membership applies.

Housing staff say "in effect from 1 April until 31 March", meaning both days, so a period
is inclusive at both ends: ``effective_to`` (a membership's ``until``) is the last day in
effect. Either end may be open. Dates are calendar days in the time zone of the type's
calendar (`time_zone_of`); a calendar with no time zone of its own (around the clock)
counts its days in `DEFAULT_TIME_ZONE`, the zone of the shipped calendars, which is also
the one the directory's membership dates are read in.

Plain Python and no schema, so that the rules of a type (`definitions.invariants`), the
schema and the adapters can all use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from .type_data import get

__all__ = [
    "DEFAULT_TIME_ZONE",
    "Period",
    "Standing",
    "View",
    "calendar_date",
    "local_date",
    "standings",
    "time_zone_of",
]

DEFAULT_TIME_ZONE = "Europe/London"
"""Where a day begins and ends for a calendar with no time zone of its own (around the
clock), and for the directory's membership dates."""

ONE_DAY = timedelta(days=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def calendar_date(value: Any) -> date | None:
    """``value`` as a calendar day, when it is one: a `date` (not a date and time) or the
    text ``YYYY-MM-DD``; None for anything else, which the schema reports."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Period:
    """The days something is in effect: ``start`` to ``end``, both included; ``None`` is
    open (since always, or with no end)."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def of(cls, node: Any, start: str = "effective_from", end: str = "effective_to") -> Period:
        """The period a definition (a model or its raw mapping) gives itself; a date of the
        wrong shape counts as open, as the schema reports it."""
        return cls(calendar_date(get(node, start)), calendar_date(get(node, end)))

    @property
    def is_open(self) -> bool:
        """In effect on every day."""
        return self.start is None and self.end is None

    @property
    def is_well_formed(self) -> bool:
        """Its first day is not after its last."""
        return self.start is None or self.end is None or self.start <= self.end

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def overlaps(self, other: Period) -> bool:
        """Some day is in both."""
        return (self.start is None or other.end is None or self.start <= other.end) and (
            other.start is None or self.end is None or other.start <= self.end
        )

    def intersection(self, other: Period) -> Period:
        """The days in both (not well formed when there are none)."""
        starts = [d for d in (self.start, other.start) if d is not None]
        ends = [d for d in (self.end, other.end) if d is not None]
        return Period(max(starts, default=None), min(ends, default=None))

    def nearest(self, day: date) -> date:
        """``day`` if the period covers it, else the period's day closest to it."""
        if self.start is not None and day < self.start:
            return self.start
        if self.end is not None and day > self.end:
            return self.end
        return day

    def view(self, day: date) -> View:
        """Where the period stands on ``day``: current, expired (ended before) or future."""
        if self.end is not None and self.end < day:
            return View.expired
        if self.start is not None and day < self.start:
            return View.future
        return View.current

    def __str__(self) -> str:
        if self.start is None and self.end is None:
            return "always"
        if self.end is None:
            return f"from {self.start}"
        if self.start is None:
            return f"until {self.end}"
        return f"from {self.start} until {self.end}"


class View(StrEnum):
    """The three views of definitions our users' product has, relative to a day."""

    current = "current"
    """In effect on the day."""
    expired = "expired"
    """Ended before the day."""
    future = "future"
    """Starts after the day."""


def first_days(whole: Period, parts: Sequence[Period]) -> list[date]:
    """The first day of each stretch of ``whole`` over which the same ``parts`` are in
    effect, in order (for a stretch that reaches back without end, a day in it): checking
    what is in effect on these days checks every day of ``whole``. Empty when no part has
    a date, so what is in effect never changes."""
    changes = {p.start for p in parts if p.start is not None}
    changes |= {p.end + ONE_DAY for p in parts if p.end is not None and p.end < date.max}
    if not changes:
        return []
    days = sorted(d for d in changes if whole.covers(d))
    # The stretch before the first change, as far as `whole` reaches back.
    before = min(changes) - ONE_DAY if min(changes) > date.min else date.min
    first = whole.start if whole.start is not None else whole.nearest(before)
    if whole.covers(first) and first not in days:
        days.insert(0, first)
    return sorted(days)


class Standing(StrEnum):
    """Where a published version stands on a day, among the versions of its type."""

    current = "current"
    """The version in effect on the day."""
    future = "future"
    """In effect on a later day, not on this one."""
    expired = "expired"
    """In effect on earlier days only."""
    superseded = "superseded"
    """Never in effect: later versions cover every day of its period."""


def standings(periods: Sequence[Period], day: date) -> list[Standing]:
    """The standing of each of one type's published versions on ``day``.

    ``periods`` are in the order the versions were published: on any day, the latest
    version whose period covers it is the one in effect (a later publish supersedes).
    """
    changes = {p.start for p in periods if p.start is not None}
    changes |= {p.end + ONE_DAY for p in periods if p.end is not None and p.end < date.max}
    starts = sorted(changes)
    # One stretch before the first change, then one from each change: the same version
    # is in effect all through a stretch, so its first day stands for it.
    stretches = [(min(starts) - ONE_DAY if starts and min(starts) > date.min else date.min)]
    stretches += starts
    today = max((s for s in stretches if s <= day), default=stretches[0])
    won: dict[int, set[str]] = {}
    for first in stretches:
        winner = _in_effect(periods, first)
        if winner is None:
            continue
        when = "now" if first == today else "later" if first > today else "earlier"
        won.setdefault(winner, set()).add(when)
    result = []
    for index in range(len(periods)):
        stood = won.get(index, set())
        if "now" in stood:
            result.append(Standing.current)
        elif "later" in stood:
            result.append(Standing.future)
        elif "earlier" in stood:
            result.append(Standing.expired)
        else:
            result.append(Standing.superseded)
    return result


def _in_effect(periods: Sequence[Period], day: date) -> int | None:
    return next((i for i in reversed(range(len(periods))) if periods[i].covers(day)), None)


def time_zone_of(provision_type: Any) -> ZoneInfo:
    """The zone a type's dates are in: its calendar's, or `DEFAULT_TIME_ZONE`. Takes a
    `ProvisionType` or its JSON (a published version's content)."""
    calendar = get(provision_type, "resolved_calendar")
    zone = get(calendar, "timezone") if isinstance(calendar, BaseModel | Mapping) else None
    return ZoneInfo(zone if isinstance(zone, str) and zone else DEFAULT_TIME_ZONE)


def local_date(provision_type: Any, moment: datetime) -> date:
    """The day ``moment`` falls on in the time zone of the type's calendar: the day a case
    opening at ``moment`` opens on, as its type's periods count days."""
    return moment.astimezone(time_zone_of(provision_type)).date()
