"""Which rules a case runs on: those of today, or those of the code a history ran on.

A rule that decides a request otherwise than before is gated by a patch of the workflow,
so that a history recorded before it replays as it ran. The case model asks through
`Since` (the workflow hands it `workflow.patched`) only where the new rule would decide
otherwise, so only a history that needed the rule holds its marker.
"""

from __future__ import annotations

from collections.abc import Callable

Since = Callable[[str], bool]
"""Whether the case runs on rules from `RULES_2026_12` on (the workflow asks its patch
only when such a rule would refuse a request, so only a history that needed it holds the
marker); a validator, which never runs on replay, holds every rule."""
RULES_2026_12 = "request-rules-2026-12"
"""The rules of December 2026 (`casemodel.intake`, `casemodel.recurrence`): each task a
cascading cancellation takes needs the caller's cancel-task, not only the one it names; a
cancellation that would leave the case nothing in progress and nothing done is refused
(closing it is `close_case`'s); a revised target must lie ahead; an identity token must
be for this case and one request (`intake.bound`); only the worker opens a follow-on
case; and an ended series stays ended when its first occurrence opens again."""


DECISIONS_2026_12 = "decision-kept"
"""A cancellation that would take every task left to decide the case's outcome (one whose
every outcome names a case outcome) is refused: the case would complete with no outcome
and open no follow-on (`casemodel.intake`). Asked only when such a cancellation comes."""
PILE_UP_2026_12 = "recurrence-pile-up"
"""A series ends when its next occurrence would take the case past the tasks a plan may
hold in progress (`casemodel.state.MAX_IN_PROGRESS`), rather than add occurrences nobody
works without end (`casemodel.recurrence`). Asked only when that limit is reached."""


def every_rule(_: str) -> bool:
    """Today's rules, every one (a validator's, and the tests')."""
    return True
