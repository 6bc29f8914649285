"""Durations as configuration administrators write them: "10 working days", "48 hours",
"2 weeks", "3 months".

Parsing is strict on purpose: a typo in a definition file must be an error found when the
definitions are validated, never a silently different SLA. Working units only mean something
in a calendar (``casemodel.calendars`` does that arithmetic); the other units are plain
calendar time. Months have no fixed length (28 to 31 days): they are counted on the
calendar's wall clock, so ``Duration.to_timedelta`` refuses them as it refuses working units.

Amounts are bounded to what an SLA can mean: about ten years in each unit (`MAXIMUM`), so
a due point always falls in a year a case can count to, and counting to it stays cheap.

=============  =============  =====================================================
unit           most allowed   why
=============  =============  =====================================================
working days   2,600          ten years of five-day weeks
working hours  20,800         2,600 working days of eight hours
months         120            ten years
weeks          522            ten years
days           3,660          ten years, leap days included
hours          87,840         3,660 days
minutes        5,270,400      3,660 days
seconds        316,224,000    3,660 days
=============  =============  =====================================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "ACCEPTED_FORMS",
    "MAXIMUM",
    "Duration",
    "DurationError",
    "DurationField",
    "DurationUnit",
    "parse_duration",
]


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    MONTHS = "months"
    WEEKS = "weeks"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    SECONDS = "seconds"

    @property
    def is_working_time(self) -> bool:
        return self in (DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS)

    @property
    def has_fixed_length(self) -> bool:
        """False for working units (they depend on a calendar) and months (28 to 31 days)."""
        return not self.is_working_time and self is not DurationUnit.MONTHS

    def words(self, amount: int) -> str:
        """The unit as written after ``amount``: "working day" or "working days"."""
        plural = self.value.replace("_", " ")
        return plural if amount != 1 else plural[:-1]


MAXIMUM: Mapping[DurationUnit, int] = MappingProxyType(
    {
        DurationUnit.WORKING_DAYS: 2_600,
        DurationUnit.WORKING_HOURS: 20_800,
        DurationUnit.MONTHS: 120,
        DurationUnit.WEEKS: 522,
        DurationUnit.DAYS: 3_660,
        DurationUnit.HOURS: 87_840,
        DurationUnit.MINUTES: 5_270_400,
        DurationUnit.SECONDS: 316_224_000,
    }
)
"""The largest amount of each unit: about ten years (see the module docstring)."""

ACCEPTED_FORMS: tuple[str, ...] = (
    "10 working days",
    "4 working hours",
    "3 months",
    "3 days",
    "48 hours",
    "30 minutes",
    "45 seconds",
)
_EXAMPLES = ", ".join(f'"{form}"' for form in ACCEPTED_FORMS)
_UNIT_LIST = "working days, working hours, months, weeks, days, hours, minutes or seconds"

# Singular and plural spellings are both accepted whatever the amount ("1 days" is harmless).
_UNIT_WORDS: dict[str, DurationUnit] = {
    spelling: unit for unit in DurationUnit for spelling in (unit.words(1), unit.words(2))
}
_SHAPE = re.compile(r"(?P<amount>[+-]?[0-9]+)\s*(?P<unit>[A-Za-z][A-Za-z\s]*)")
# More digits than any maximum has; longer amounts are refused without converting them
# (Python refuses to convert very long digit strings at all).
_MOST_DIGITS = len(str(max(MAXIMUM.values())))


class DurationError(ValueError):
    """A text that is not a duration; the message says why and shows the accepted forms."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A whole, positive number of one unit, e.g. ``Duration(10, DurationUnit.WORKING_DAYS)``.

    ``str()`` gives the canonical text ("10 working days", "1 working day"), which is also how
    a pydantic model serialises a ``Duration`` field; the field accepts the text form.
    """

    amount: int
    unit: DurationUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise DurationError(f"a duration amount must be a whole number, not {self.amount!r}")
        if self.amount < 1:
            raise DurationError(f"a duration amount must be at least 1, not {self.amount}")
        try:
            object.__setattr__(self, "unit", DurationUnit(self.unit))
        except ValueError:
            raise DurationError(f"{self.unit!r} is not a unit; use {_UNIT_LIST}") from None
        if self.amount > MAXIMUM[self.unit]:
            raise DurationError(f'"{self}" {_too_long(self.unit)}')

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.words(self.amount)}"

    @property
    def is_working_time(self) -> bool:
        """True for working days and working hours, which only count a calendar's open time."""
        return self.unit.is_working_time

    @property
    def has_fixed_length(self) -> bool:
        """False for working units and months, whose length depends on where they start."""
        return self.unit.has_fixed_length

    def to_timedelta(self) -> timedelta:
        """The nominal elapsed length (a day is 24 hours); working units and months have none."""
        match self.unit:
            case DurationUnit.WEEKS:
                return timedelta(weeks=self.amount)
            case DurationUnit.DAYS:
                return timedelta(days=self.amount)
            case DurationUnit.HOURS:
                return timedelta(hours=self.amount)
            case DurationUnit.MINUTES:
                return timedelta(minutes=self.amount)
            case DurationUnit.SECONDS:
                return timedelta(seconds=self.amount)
        if self.unit is DurationUnit.MONTHS:
            raise ValueError(f"{self} has no fixed length: a month is 28 to 31 days")
        raise ValueError(f"{self} has no fixed length: it depends on a working calendar")

    @classmethod
    def parse(cls, text: str) -> Duration:
        return parse_duration(text)

    # -- pydantic ------------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_field,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "description": f"A whole number and a unit: {_UNIT_LIST}.",
            "examples": list(ACCEPTED_FORMS),
        }


# Duration works as a pydantic field type by itself; the alias reads well in models.
DurationField: TypeAlias = Duration


@functools.lru_cache(maxsize=1024)
def parse_duration(text: str) -> Duration:
    """Parse "10 working days", "1 hour", "2 weeks", "1 month"... (case-insensitive, spaces
    tolerated).

    Cached: the case model re-reads the same few SLA texts on every workflow task.

    Raises DurationError saying what was wrong and which forms are accepted, or, for an
    amount above `MAXIMUM`, naming the limit of its unit.
    """
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text such as {_EXAMPLES}, not {text!r}")
    quoted = f'"{_shorten(text)}"'
    match = _SHAPE.fullmatch(text.strip())
    if match is None:
        raise DurationError(
            f"{quoted} is not a duration: write a whole number and a unit, e.g. {_EXAMPLES}"
        )
    unit_text = " ".join(match["unit"].lower().split())
    unit = _UNIT_WORDS.get(unit_text)
    if unit is None:
        raise DurationError(
            f'{quoted} is not a duration: "{_shorten(match["unit"].strip())}" is not a unit; '
            f"use {_UNIT_LIST}, e.g. {_EXAMPLES}"
        )
    sign, digits = match["amount"][0], match["amount"].lstrip("+-").lstrip("0")
    if sign == "-" or not digits:
        raise DurationError(f"{quoted} is not a duration: the amount must be at least 1")
    if len(digits) > _MOST_DIGITS or int(digits) > MAXIMUM[unit]:
        raise DurationError(f"{quoted} {_too_long(unit)}")
    return Duration(int(digits), unit)


def _too_long(unit: DurationUnit) -> str:
    most = MAXIMUM[unit]
    return (
        f"is longer than an SLA can mean: at most {most:,} {unit.words(most)} (about ten "
        "years); use a shorter period"
    )


def _shorten(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...{text[-15:]}"


def _validate_field(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except DurationError as error:
        # A custom error keeps pydantic from prefixing "Value error, " to our message.
        raise PydanticCustomError("duration", str(error)) from None
