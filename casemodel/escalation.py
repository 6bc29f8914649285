"""Escalation schedules: which rule fires next, for what, and when.

Nothing here is stored as a schedule. The next firing of every rule is worked out from the
clocks and from the firings already recorded, so a pause, a completion or a revised target
changes the picture at once, and a rule that was never reached leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from definitions.schema import EscalationAction, EscalationRule, Trigger

from .calendars import Calendar
from .sla import Clock, Interval, after


class Firing(BaseModel):
    """A rule that fired: recorded so it never fires twice for the same occurrence.

    A path's communication step is recorded in the same shape (trigger `path`, rule
    `path:<path id>`, its task as the subject), so it goes out the same way, once.
    """

    key: str
    subject: str
    rule: str
    trigger: str
    occurrence: int
    due_at: datetime
    fired_at: datetime
    template: str


@dataclass(frozen=True)
class Pending:
    """A rule's next firing."""

    subject: str
    path: str
    action: EscalationAction
    trigger: Trigger
    occurrence: int
    at: datetime

    def key(self, case_ref: str) -> str:
        return f"{case_ref}/{self.subject}/{self.path}#{self.occurrence}"

    def describe(self) -> str:
        what = "the case" if self.subject == "case" else self.subject
        return f"{self.trigger.value} rule {self.path} of {what}"


@dataclass(frozen=True)
class Subject:
    """Something escalations are about: the case, or one task instance."""

    key: str
    clock: Clock | None
    rules: Sequence[EscalationRule]
    last_activity: datetime
    stops: list[Interval]
    clock_since: datetime | None = None
    """When the clock's present target was set (it opened, or was revised): warning and
    breach rules fired before then were about an earlier target and start afresh."""


def pending(subject: Subject, firings: Sequence[Firing], calendar: Calendar) -> Iterator[Pending]:
    """The next firing of each of the subject's rules (and their follow-ons).

    Repeats and follow-ons count from when the firing before them was *due*, not from when
    it happened to be made, so a worker that was down catches up on the whole chain.
    """
    mine = [f for f in firings if f.subject == subject.key]
    for rule in subject.rules:
        base = _trigger_point(subject, rule, calendar)
        if base is None:
            continue
        if rule.trigger is Trigger.stagnation:
            # Activity since the last firing starts a new episode.
            episode = [f for f in mine if f.due_at > subject.last_activity]
        else:
            since = subject.clock_since
            episode = [f for f in mine if since is None or f.fired_at >= since]
        yield from _node(subject, rule, rule.id, rule.trigger, base, episode, mine, calendar)


def _trigger_point(subject: Subject, rule: EscalationRule, calendar: Calendar) -> datetime | None:
    if rule.trigger is Trigger.stagnation:
        assert rule.stagnation_after is not None
        base = after(calendar, subject.last_activity, rule.stagnation_after, subject.stops)
    elif subject.clock is None:
        return None
    elif rule.trigger is Trigger.warning:
        if subject.clock.warning_at is None:
            return None
        base = subject.clock.warning_at
    else:
        base = subject.clock.due_at
    if rule.delay:
        base = after(calendar, base, rule.delay, subject.stops)
    return base


def _node(
    subject: Subject,
    action: EscalationAction,
    path: str,
    trigger: Trigger,
    first_at: datetime,
    current: Sequence[Firing],
    firings: Sequence[Firing],
    calendar: Calendar,
) -> Iterator[Pending]:
    """`current`: the subject's firings of this episode; `firings`: all, for numbering."""
    episode = [f for f in current if f.rule == path]
    occurrence = sum(1 for f in firings if f.rule == path) + 1
    if not episode:
        yield Pending(subject.key, path, action, trigger, occurrence, first_at)
        return
    if action.repeat is not None and len(episode) <= action.repeat.times:
        at = after(calendar, episode[-1].due_at, action.repeat.every, subject.stops)
        yield Pending(subject.key, path, action, trigger, occurrence, at)
    parent_due = episode[0].due_at
    later = [f for f in current if f.due_at > parent_due]
    for child in action.follow_on:
        at = after(calendar, parent_due, child.after, subject.stops)
        yield from _node(
            subject, child, f"{path}/{child.id}", trigger, at, later, firings, calendar
        )


def action_at(rules: Sequence[EscalationRule], path: str) -> EscalationAction | None:
    """The rule or follow-on at `path` (`breach/panel`), as a firing records it."""
    head, _, rest = path.partition("/")
    current: EscalationAction | None = next((r for r in rules if r.id == head), None)
    for part in rest.split("/") if rest else []:
        if current is None:
            return None
        current = next((c for c in current.follow_on if c.id == part), None)
    return current
