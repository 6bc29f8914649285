"""What a condition of a path may say about a field, and how its values read.

A path's `when` compares an information field's answer with a value written in the
definition. Both are read here, the same way: the value when the definition is validated
(`definitions.invariants`), the value and the answer when the case model decides
(`casemodel.conditions`), so a condition that validates means exactly what it says when a
task is completed. Response types are their plain names (`decimal`, `lookup`), so this
works on raw YAML data as well as on the schema's models.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schema import Condition

__all__ = ["FITS", "Comparable", "describe", "fits", "fitting_types", "read"]

NUMBERS = ("integer", "decimal")
ORDERED = (*NUMBERS, "date", "date_time")
ALL_TYPES = (
    "text",
    "integer",
    "decimal",
    "date",
    "date_time",
    "true_false",
    "lookup",
    "multi_lookup",
)

FITS: dict[str, tuple[str, ...]] = {
    "equals": ("text", *ORDERED, "true_false", "lookup"),
    "one_of": ("text", "integer", "lookup", "multi_lookup"),
    "above": ORDERED,
    "below": ORDERED,
    "at_least": ORDERED,
    "at_most": ORDERED,
    "is_true": ("true_false",),
    "is_empty": ALL_TYPES,
}
"""The response types each operator fits. `equals` on a multi_lookup is left out on
purpose: whether it means "exactly these" or "includes this" is a guess, and `one_of`
says the second plainly."""

Comparable = str | int | Decimal | date | datetime | bool
"""A value or an answer as the comparison reads it."""


def fits(operator: str, response_type: str) -> bool:
    return response_type in FITS.get(operator, ())


def fitting_types(operator: str) -> str:
    """``integer, decimal, date and date_time``: the types `operator` fits, for a message."""
    names = list(FITS.get(operator, ()))
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def read(response_type: str, options: Iterable[str], value: Any) -> Comparable:
    """``value`` as a field of ``response_type`` compares it; `ValueError` saying why not.

    Text compares without case or surrounding spaces; a lookup's value is its option as
    written; a date and time without an offset is UTC, as workflow time is.
    """
    if response_type == "text":
        if not isinstance(value, str):
            raise ValueError(f"{_shown(value)} is not text; put it in quotes")
        return value.strip().casefold()
    if response_type == "integer":
        return _integer(value)
    if response_type == "decimal":
        return _decimal(value)
    if response_type == "date":
        return _date(value)
    if response_type == "date_time":
        return _date_time(value)
    if response_type == "true_false":
        if not isinstance(value, bool):
            raise ValueError(f"{_shown(value)} is not true or false")
        return value
    if response_type in ("lookup", "multi_lookup"):
        return _option(list(options), value)
    raise ValueError(f'"{response_type}" is not a response type')


def describe(condition: Condition) -> str:
    """A condition in words, as `definitions show` lists it: ``arrears-amount above 500``,
    ``all of (…; …)``."""
    for key, parts in (("all", condition.all_), ("any", condition.any_)):
        if parts:
            return f"{key} of ({'; '.join(describe(part) for part in parts)})"
    operator, value = condition.operator, condition.value
    if isinstance(value, tuple):
        shown = ", ".join(str(item) for item in value)
    elif isinstance(value, bool):
        shown = str(value).lower()
    else:
        shown = str(value)
    return f"{condition.field} {(operator or '').replace('_', ' ')} {shown}"


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a whole number")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{_shown(value)} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{_shown(value)} is not a whole number")
    return int(number)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{_shown(value)} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{_shown(value)} is not a number")
    return number


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{_shown(value)} is a date and time; write the date alone, YYYY-MM-DD")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a date; write it as YYYY-MM-DD") from None


def _date_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(
                f"{_shown(value)} is not a date and time; write it as YYYY-MM-DDTHH:MM+00:00"
            ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _option(options: list[str], value: Any) -> str:
    wanted = str(value).strip().casefold()
    for option in options:
        if option.casefold() == wanted:
            return option
    raise ValueError(f"{_shown(value)} is not one of the field's options: {', '.join(options)}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value[:60]}"'
    return repr(value)[:60]
