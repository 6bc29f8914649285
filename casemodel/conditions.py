"""Whether a path's condition holds on what was recorded, and why.

Pure: a condition (`definitions.schema.Condition`), the task's definition and the
responses its completion recorded in, a verdict out. Values and answers are read the way
the definition was validated (`definitions.conditions.read`), so a condition means here
exactly what `definitions validate` accepted. A test of a field left unanswered does not
hold, except `is_empty: true`; an answer that cannot be read (a definition built without
validation) makes its test not hold rather than fail the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from definitions.conditions import Comparable, read
from definitions.schema import Condition, InformationField, ResponseType, TaskDefinition

from .responses import ResponseValue

__all__ = ["Verdict", "evaluate"]


@dataclass(frozen=True)
class Verdict:
    """Whether a condition holds, and the reason in words for the case log: the tests
    that made it hold (or, when it does not, the ones that failed)."""

    holds: bool
    reason: str


ALWAYS = Verdict(True, "always")

_WORDS = {
    "equals": "equal to",
    "one_of": "one of",
    "above": "above",
    "below": "below",
    "at_least": "at least",
    "at_most": "at most",
}


def evaluate(
    condition: Condition | None,
    task: TaskDefinition,
    responses: Mapping[str, ResponseValue],
) -> Verdict:
    """The verdict of ``condition`` on ``responses`` (by field id) of a ``task``; a path
    without a condition always holds."""
    if condition is None:
        return ALWAYS
    return _verdict(condition, {f.id: f for f in task.fields}, responses)


def _verdict(
    condition: Condition,
    fields: Mapping[str, InformationField],
    responses: Mapping[str, ResponseValue],
) -> Verdict:
    if condition.all_:
        parts = [_verdict(part, fields, responses) for part in condition.all_]
        failed = [p for p in parts if not p.holds]
        if failed:
            return Verdict(False, failed[0].reason)
        return Verdict(True, " and ".join(p.reason for p in parts))
    if condition.any_:
        parts = [_verdict(part, fields, responses) for part in condition.any_]
        held = next((p for p in parts if p.holds), None)
        if held is not None:
            return held
        return Verdict(False, " and ".join(p.reason for p in parts))
    return _test(condition, fields, responses)


def _test(
    condition: Condition,
    fields: Mapping[str, InformationField],
    responses: Mapping[str, ResponseValue],
) -> Verdict:
    info = fields.get(condition.field or "")
    operator = condition.operator
    if info is None or operator is None:
        return Verdict(False, f"{condition.field} is not a field of the task")
    name = info.label
    answer = responses.get(info.id)
    unanswered = answer is None or answer == [] or answer == ""
    if operator == "is_empty":
        holds = unanswered is bool(condition.is_empty)
        return Verdict(holds, f"{name} is {'not answered' if unanswered else 'answered'}")
    if unanswered:
        return Verdict(False, f"{name} is not answered")
    if operator == "is_true":
        holds = answer is condition.is_true
        return Verdict(holds, f"{name} is {_shown(answer)}")
    try:
        holds = _compares(info, operator, answer, condition.value)
    except (ValueError, TypeError):
        return Verdict(False, f"{name} ({_shown(answer)}) cannot be compared")
    value = condition.value
    wanted = ", ".join(_shown(v) for v in value) if isinstance(value, tuple) else _shown(value)
    return Verdict(holds, f"{name} is {_shown(answer)}, {_WORDS[operator]} {wanted}")


def _compares(info: InformationField, operator: str, answer: Any, value: Any) -> bool:
    kind, options = info.response_type.value, info.options
    if operator == "one_of":
        wanted = [read(kind, options, item) for item in value]
        if info.response_type is ResponseType.multi_lookup:
            chosen = answer if isinstance(answer, list) else [answer]
            return any(read(kind, options, item) in wanted for item in chosen)
        return read(kind, options, answer) in wanted
    given, threshold = read(kind, options, answer), read(kind, options, value)
    if operator == "equals":
        return given == threshold
    return _ordered(operator, given, threshold)


def _ordered(operator: str, given: Comparable, threshold: Comparable) -> bool:
    if isinstance(given, bool) or isinstance(threshold, bool):
        raise TypeError("yes or no has no order")
    left: Any = given
    right: Any = threshold
    if operator == "above":
        return bool(left > right)
    if operator == "below":
        return bool(left < right)
    if operator == "at_least":
        return bool(left >= right)
    return bool(left <= right)  # at_most


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
