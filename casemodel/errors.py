"""Refusals of the case rules.

Every refusal is a named exception whose message a housing officer understands: it says
what was wrong and what to do instead. The workflow passes the message to the caller
unchanged, so write it for a person, not a log.
"""

from __future__ import annotations


class CaseRuleError(Exception):
    """A request the case rules refuse. The case state is unchanged."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownTask(CaseRuleError):
    code = "unknown_task"


class TaskNotOpen(CaseRuleError):
    """The task exists but cannot be worked on now (blocked, completed, cancelled...)."""

    code = "task_not_open"


class TaskBlocked(TaskNotOpen):
    code = "task_blocked"


class AmbiguousTask(CaseRuleError):
    code = "ambiguous_task"


class NotRepeatable(CaseRuleError):
    code = "not_repeatable"


class NotOptional(CaseRuleError):
    code = "not_optional"


class HasDependants(CaseRuleError):
    code = "has_dependants"


class CannotUndo(CaseRuleError):
    code = "cannot_undo"


class InvalidOutcome(CaseRuleError):
    code = "invalid_outcome"


class InvalidResponses(CaseRuleError):
    code = "invalid_responses"


class NotRecurring(CaseRuleError):
    """A series was asked of a task that has none running."""

    code = "not_recurring"


class CaseNotOpen(CaseRuleError):
    code = "case_not_open"


class NotAllowed(CaseRuleError):
    """A time request the case's definition or current state does not allow."""

    code = "not_allowed"


class OutOfRange(CaseRuleError):
    """An instant too far from now to mean anything (a revised target in the year 9999)."""

    code = "out_of_range"


class UnknownRequest(CaseRuleError):
    """A request name the case does not take."""

    code = "unknown_request"


class MalformedRequest(CaseRuleError):
    """Not one JSON request: no argument, two, or another encoding."""

    code = "malformed_request"


class RequestTooLarge(CaseRuleError):
    code = "request_too_large"


class InvalidRequest(CaseRuleError):
    """JSON, but not a request of its kind: unknown or missing fields, wrong types, limits."""

    code = "invalid_request"


class NotAuthenticated(CaseRuleError):
    """The request carries no identity the worker can verify: none, a changed one, one
    signed with a key it does not hold, or one that has expired."""

    code = "not_authenticated"


class NotPermitted(CaseRuleError):
    """The identity is verified, but does not hold the permission the request needs."""

    code = "not_permitted"


class CaseNotStarted(CaseRuleError):
    """The case's start input was refused, so there is no case to take requests."""

    code = "case_not_started"


def error_for_code(code: str, message: str) -> CaseRuleError:
    """Rebuild a refusal on the far side of a wire, where only code and message travel."""
    for cls in _all_subclasses(CaseRuleError):
        if cls.code == code:
            return cls(message)
    return CaseRuleError(message)


def _all_subclasses(cls: type[CaseRuleError]) -> list[type[CaseRuleError]]:
    found: list[type[CaseRuleError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found
