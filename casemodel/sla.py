"""SLA clocks: when a task or case is due, when it warns, and how pauses move both.

Every instant here is derived from an *anchor* (when a clock started, when a rule fired)
plus a duration in the case's calendar, then moved on by the working time of every pause
or hold that began after the anchor. That one rule keeps due points, repeats and
follow-ons consistent however often a case is paused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from definitions.durations import Duration, parse_duration

from .calendars import Calendar


class Interval(BaseModel):
    """A pause of the case or a hold of a task; open while `end` is None."""

    start: datetime
    end: datetime | None = None
    reason: str | None = None
    by: str | None = None


class RevisedTarget(BaseModel):
    """A target an authorised person set by hand, with their reason."""

    due_at: datetime
    revised_at: datetime
    reason: str
    by: str


class ClockState(StrEnum):
    on_track = "on_track"
    warning = "warning"
    breached = "breached"
    paused = "paused"
    met = "met"
    missed = "missed"
    cancelled = "cancelled"
    """A task cancelled: its clock stopped with the work called off, neither met nor
    missed, so that what is reported as met is only what was done in time."""


SEVERITY = {
    ClockState.on_track: 0,
    ClockState.met: 0,
    ClockState.warning: 1,
    ClockState.breached: 2,
    ClockState.missed: 2,
    ClockState.paused: 0,
    ClockState.cancelled: 0,
}


@dataclass(frozen=True)
class Clock:
    """One SLA clock as it stands: the case's (`subject` = "case") or a task's (its key)."""

    subject: str
    name: str
    calendar: str
    target: Duration
    warning: Duration | None
    started_at: datetime
    warning_at: datetime | None
    due_at: datetime
    stopped_at: datetime | None
    state: ClockState
    revised: bool

    @property
    def running(self) -> bool:
        return self.stopped_at is None


def shift(
    calendar: Calendar, anchor: datetime, instant: datetime, stops: Iterable[Interval]
) -> datetime:
    """Move `instant` on by the working time of every finished stop after `anchor`.

    Stops that overlap (a task held while the case is paused) count once, as their union.
    """
    moved = instant
    for begin, end in _spans(anchor, stops):
        if begin < moved:
            moved = calendar.add_working_time(moved, calendar.working_time_between(begin, end))
    return moved


def _spans(anchor: datetime, stops: Iterable[Interval]) -> list[tuple[datetime, datetime]]:
    """The finished stops after `anchor`, overlapping ones merged, in order."""
    merged: list[tuple[datetime, datetime]] = []
    for stop in sorted(stops, key=lambda s: s.start):
        if stop.end is None:
            continue
        begin = max(stop.start, anchor)
        if stop.end <= begin:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop.end))
        else:
            merged.append((begin, stop.end))
    return merged


def _until(stops: list[Interval], stopped_at: datetime | None) -> list[Interval]:
    """The stops as they bear on a clock: time after the clock stopped does not count, so a
    stop still open when it stopped (a task completed while held, a case closed while
    paused) ends there."""
    if stopped_at is None:
        return stops
    return [
        s.model_copy(update={"end": max(s.start, min(s.end or stopped_at, stopped_at))})
        for s in stops
    ]


def after(
    calendar: Calendar, anchor: datetime, duration: str | Duration, stops: Iterable[Interval]
) -> datetime:
    """`duration` after `anchor` in `calendar`, with time stopped not counted."""
    length = parse_duration(duration) if isinstance(duration, str) else duration
    return shift(calendar, anchor, calendar.add(anchor, length), stops)


def clock(
    *,
    subject: str,
    name: str,
    calendar: Calendar,
    target_text: str,
    warning_text: str | None,
    started_at: datetime,
    stopped_at: datetime | None,
    stops: list[Interval],
    revision: RevisedTarget | None,
    now: datetime,
) -> Clock:
    target = parse_duration(target_text)
    warning = parse_duration(warning_text) if warning_text else None
    stops = _until(stops, stopped_at)
    planned_due = calendar.add(started_at, target)
    planned_warning = _warning_point(calendar, started_at, target, warning, planned_due)
    if revision is not None:
        due = shift(calendar, revision.revised_at, revision.due_at, stops)
        lead = (
            calendar.working_time_between(planned_warning, planned_due) if planned_warning else None
        )
        warning_at = _back_off(calendar, started_at, due, lead) if lead is not None else None
    else:
        due = shift(calendar, started_at, planned_due, stops)
        warning_at = (
            shift(calendar, started_at, planned_warning, stops) if planned_warning else None
        )
    return Clock(
        subject=subject,
        name=name,
        calendar=calendar.name,
        target=target,
        warning=warning,
        started_at=started_at,
        warning_at=warning_at,
        due_at=due,
        stopped_at=stopped_at,
        state=_state(now, warning_at, due, stopped_at, stops),
        revised=revision is not None,
    )


def _warning_point(
    calendar: Calendar,
    start: datetime,
    target: Duration,
    warning: Duration | None,
    due: datetime,
) -> datetime | None:
    if warning is None:
        return None
    if warning.unit is target.unit:
        left = target.amount - warning.amount
        return calendar.add(start, Duration(left, target.unit)) if left > 0 else start
    lead = calendar.working_time_between(due, calendar.add(due, warning))
    return _back_off(calendar, start, due, lead)


def _back_off(calendar: Calendar, start: datetime, due: datetime, lead: timedelta) -> datetime:
    """The instant `lead` of working time before `due`, but not before `start`."""
    total = calendar.working_time_between(start, due)
    return calendar.add_working_time(start, max(timedelta(0), total - lead))


def _state(
    now: datetime,
    warning_at: datetime | None,
    due: datetime,
    stopped_at: datetime | None,
    stops: list[Interval],
) -> ClockState:
    if stopped_at is not None:
        return ClockState.met if stopped_at <= due else ClockState.missed
    if any(s.end is None for s in stops):
        return ClockState.paused
    if now >= due:
        return ClockState.breached
    if warning_at is not None and now >= warning_at:
        return ClockState.warning
    return ClockState.on_track


def state_at(found: Clock, paused: bool, now: datetime) -> ClockState:
    """The state of a clock worked out earlier, as it stands at `now`."""
    if found.stopped_at is not None:
        return ClockState.met if found.stopped_at <= found.due_at else ClockState.missed
    if paused:
        return ClockState.paused
    if now >= found.due_at:
        return ClockState.breached
    if found.warning_at is not None and now >= found.warning_at:
        return ClockState.warning
    return ClockState.on_track


def worst(states: Iterable[ClockState]) -> ClockState:
    found = list(states)
    return max(found, key=lambda s: SEVERITY[s]) if found else ClockState.on_track
