"""What a case opens with: a provision type as it is in effect on the day the case opens.

A definition of a type may carry tasks and escalation rules with periods of their own
(`effective_from`, `effective_to`, both days included). A case that opens on a day gets
the tasks and rules in effect that day, and keeps them for as long as it runs: the result
of `in_effect` is what it carries. Which definition (version) of a type a case opens on
is chosen before, by whoever starts it (`starter.published.published_in_effect`).
"""

from __future__ import annotations

from datetime import date, datetime

from .invariants import check_provision_type, list_problems
from .periods import Period, local_date
from .schema import EscalationRule, ProvisionType

__all__ = ["NotInEffect", "in_effect", "opening_day"]


class NotInEffect(ValueError):
    """The parts of a type in effect on a day do not make a type a case can run on.

    Never for a definition that validated (`definitions.invariants.check_dated_rules`
    checks every day of its period); a type made in code or sent by another system may.
    """


def in_effect(provision_type: ProvisionType, on: date) -> ProvisionType:
    """``provision_type`` with only the tasks and escalation rules in effect on ``on``.

    A day outside the type's own period counts as the nearest day inside it: the version
    was chosen for the case already, and each day of its period is one its rules were
    checked on, so the first day of a version that starts tomorrow gives what its cases
    will get. The parts kept keep their periods. A type with nothing dated is returned as
    it is. Raises `NotInEffect` when what is in effect breaks the rules of a type.
    """
    day = Period.of(provision_type).nearest(on)
    tasks = tuple(
        task.model_copy(update={"escalations": _rules_on(task.escalations, day)})
        if any(not Period.of(rule).is_open for rule in task.escalations)
        else task
        for task in provision_type.tasks
        if Period.of(task).covers(day)
    )
    escalations = _rules_on(provision_type.escalations, day)
    unchanged = escalations == provision_type.escalations and tasks == provision_type.tasks
    if unchanged:
        return provision_type
    chosen = provision_type.model_copy(update={"tasks": tasks, "escalations": escalations})
    problems = check_provision_type(chosen)
    if problems:
        raise NotInEffect(
            f"{provision_type.id} as in effect on {day} breaks the rules of a type: "
            f"{list_problems(problems)}"
        )
    return chosen


def opening_day(provision_type: ProvisionType, now: datetime) -> date:
    """The day a case of ``provision_type`` opening at ``now`` opens on, in the time zone
    of the type's calendar: the ``on`` to pass to `in_effect`."""
    return local_date(provision_type, now)


def _rules_on(rules: tuple[EscalationRule, ...], day: date) -> tuple[EscalationRule, ...]:
    return tuple(rule for rule in rules if Period.of(rule).covers(day))
