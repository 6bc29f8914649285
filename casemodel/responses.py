"""Checking what a person recorded against a task's information fields.

Answers arrive as text from the command line or as JSON values from other systems; both
are normalised to JSON-safe values so the case state can travel through Temporal and be
stored as it is. Every problem is reported at once, so a caller fixes them in one go.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from definitions.schema import InformationField, ResponseType, TaskDefinition

from .errors import InvalidResponses

ResponseValue = str | int | bool | list[str] | None
NumberAnswer = int | str
"""A whole number, or a decimal as its text (exact, and JSON-safe)."""
NUMBER_LIMIT = 10**15
"""The largest a number answer may be, either way: whole pounds or pence of any real sum,
however it was sent (a JSON number, or text from the command line)."""
DECIMAL_PLACES = 10
"""Decimal places a decimal answer may have: more is a typo or a machine's noise."""

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def check_responses(task: TaskDefinition, given: dict[str, Any]) -> dict[str, ResponseValue]:
    """The responses keyed by field id, normalised; raises InvalidResponses otherwise."""
    problems: list[str] = []
    checked: dict[str, ResponseValue] = {}
    wrong: set[str] = set()  # answered, but not acceptably: already reported
    for name, raw in given.items():
        field = task.field(name)
        if field is None:
            known = ", ".join(f"{f.id} ({f.label})" for f in task.fields) or "none"
            problems.append(f'"{name}" is not a field of {task.id}; its fields are: {known}')
            continue
        if field.id in checked:
            problems.append(f"{field.label} is answered twice")
            continue
        try:
            value = _normalise(field, raw)
        except ValueError as err:
            problems.append(f"{field.label}: {err}")
            wrong.add(field.id)
            continue
        if value is not None:
            checked[field.id] = value
    for field in task.fields:
        if field.mandatory and field.id not in checked and field.id not in wrong:
            problems.append(f"{field.label} is mandatory: answer with {_hint(field)}")
    if problems:
        raise InvalidResponses(f"Cannot complete {task.id}: " + "; ".join(problems))
    return checked


def _normalise(field: InformationField, raw: Any) -> ResponseValue:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = field.response_type
    if kind is ResponseType.text:
        return str(raw).strip()
    if kind is ResponseType.integer:
        return _within(field, _integer(raw))
    if kind is ResponseType.decimal:
        return _within(field, _decimal(raw))
    if kind is ResponseType.date:
        return _date(raw)
    if kind is ResponseType.date_time:
        return _date_time(raw)
    if kind is ResponseType.true_false:
        return _true_false(raw)
    if kind is ResponseType.lookup:
        return _lookup(field, raw)
    return _multi_lookup(field, raw)


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a whole number")
    if isinstance(raw, int):
        _check_size(raw, raw)
        return raw
    text = str(raw).strip().replace(",", "")
    if len(text.lstrip("+-")) > 16 and text.lstrip("+-").isdigit():
        raise ValueError(
            f'"{_short(raw)}" is larger than a number answer may be (at most 10^15 either way)'
        )
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f'"{_short(raw)}" is not a whole number') from None
    _check_size(number, raw)
    return number


def _decimal(raw: Any) -> str:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    text = str(raw).strip().replace(",", "").lstrip("£")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f'"{raw}" is not a number') from None
    if not number.is_finite():
        raise ValueError(f'"{raw}" is not a number')
    _check_size(number, raw)
    if _places(number) > DECIMAL_PLACES:
        raise ValueError(f'"{_short(raw)}" has more than {DECIMAL_PLACES} decimal places')
    return str(number)


def _places(number: Decimal) -> int:
    """Decimal places that matter: `1.50` has one, `1E+3` none."""
    if number.adjusted() < -DECIMAL_PLACES - 1:
        return DECIMAL_PLACES + 1  # 1E-999999999: no need to count them
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_size(number: Decimal | int, raw: Any) -> None:
    # Its exponent first: `abs` of 1E+999999999 overflows the decimal context.
    if isinstance(number, Decimal):
        huge = number.adjusted() > 15 or abs(number) > NUMBER_LIMIT
    else:
        huge = abs(number) > NUMBER_LIMIT
    if huge:
        raise ValueError(
            f'"{_short(raw)}" is larger than a number answer may be (at most 10^15 either way)'
        )


def _short(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]}"


def _within(field: InformationField, value: NumberAnswer) -> NumberAnswer:
    """The answer, if it lies within the field's `min` and `max`."""
    number = Decimal(value)
    if field.min is not None and number < field.min:
        raise ValueError(f"{value} is less than the least allowed, {_plain(field.min)}")
    if field.max is not None and number > field.max:
        raise ValueError(f"{value} is more than the most allowed, {_plain(field.max)}")
    return value


def _plain(bound: Decimal) -> str:
    return f"{bound.normalize():f}" if bound == bound.to_integral_value() else str(bound)


def _date(raw: Any) -> str:
    try:
        return date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValueError(f'"{raw}" is not a date; write it as YYYY-MM-DD') from None


def _date_time(raw: Any) -> str:
    try:
        return datetime.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValueError(
            f'"{raw}" is not a date and time; write it as YYYY-MM-DDTHH:MM[+00:00]'
        ) from None


def _true_false(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'"{raw}" is not true or false; answer yes or no')


def _option(field: InformationField, raw: Any) -> str:
    wanted = str(raw).strip().casefold()
    for option in field.options:
        if option.casefold() == wanted:
            return option
    raise ValueError(f'"{str(raw).strip()}" is not one of: {", ".join(field.options)}')


def _lookup(field: InformationField, raw: Any) -> str:
    return _option(field, raw)


def _multi_lookup(field: InformationField, raw: Any) -> list[str] | None:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    chosen: list[str] = []
    for item in items:
        if str(item).strip():
            option = _option(field, item)
            if option not in chosen:
                chosen.append(option)
    return chosen or None  # choosing nothing is no answer, so a mandatory field still asks


def _hint(field: InformationField) -> str:
    hints = {
        ResponseType.text: "some text",
        ResponseType.integer: "a whole number" + _range(field),
        ResponseType.decimal: "a number" + _range(field),
        ResponseType.date: "a date, YYYY-MM-DD",
        ResponseType.date_time: "a date and time, YYYY-MM-DDTHH:MM",
        ResponseType.true_false: "yes or no",
        ResponseType.lookup: "one of: " + ", ".join(field.options),
        ResponseType.multi_lookup: "one or more of: " + ", ".join(field.options),
    }
    return hints[field.response_type]


def _range(field: InformationField) -> str:
    if field.min is not None and field.max is not None:
        return f" from {_plain(field.min)} to {_plain(field.max)}"
    if field.min is not None:
        return f" of at least {_plain(field.min)}"
    if field.max is not None:
        return f" of at most {_plain(field.max)}"
    return ""
