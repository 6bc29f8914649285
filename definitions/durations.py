"""Durations as configuration administrators write them: "10 working days", "48 hours".

Parsing is strict on purpose: a typo in a definition file must be an error found when the
definitions are validated, never a silently different SLA. Working units only mean something
in a calendar (``casemodel.calendars`` does that arithmetic); the other units are plain
calendar time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "ACCEPTED_FORMS",
    "Duration",
    "DurationError",
    "DurationField",
    "DurationUnit",
    "parse_duration",
]


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    WEEKS = "weeks"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    SECONDS = "seconds"

    @property
    def is_working_time(self) -> bool:
        return self in (DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS)

    def words(self, amount: int) -> str:
        """The unit as written after ``amount``: "working day" or "working days"."""
        plural = self.value.replace("_", " ")
        return plural if amount != 1 else plural[:-1]


ACCEPTED_FORMS: tuple[str, ...] = (
    "10 working days",
    "4 working hours",
    "3 days",
    "48 hours",
    "30 minutes",
    "45 seconds",
)
_EXAMPLES = ", ".join(f'"{form}"' for form in ACCEPTED_FORMS)
_UNIT_LIST = "working days, working hours, weeks, days, hours, minutes or seconds"

# Singular and plural spellings are both accepted whatever the amount ("1 days" is harmless).
_UNIT_WORDS: dict[str, DurationUnit] = {
    spelling: unit for unit in DurationUnit for spelling in (unit.words(1), unit.words(2))
}
_SHAPE = re.compile(r"(?P<amount>[+-]?[0-9]+)\s*(?P<unit>[A-Za-z][A-Za-z\s]*)")


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

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.words(self.amount)}"

    @property
    def is_working_time(self) -> bool:
        """True for working days and working hours, which only count a calendar's open time."""
        return self.unit.is_working_time

    def to_timedelta(self) -> timedelta:
        """The nominal elapsed length (a day is 24 hours); working units have none."""
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
    """Parse "10 working days", "1 hour", "2 weeks"... (case-insensitive, spaces tolerated).

    Cached: the case model re-reads the same few SLA texts on every workflow task.

    Raises DurationError saying what was wrong and which forms are accepted.
    """
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text such as {_EXAMPLES}, not {text!r}")
    match = _SHAPE.fullmatch(text.strip())
    if match is None:
        raise DurationError(
            f'"{text}" is not a duration: write a whole number and a unit, e.g. {_EXAMPLES}'
        )
    amount = int(match["amount"])
    unit_text = " ".join(match["unit"].lower().split())
    unit = _UNIT_WORDS.get(unit_text)
    if unit is None:
        raise DurationError(
            f'"{text}" is not a duration: "{match["unit"].strip()}" is not a unit; '
            f"use {_UNIT_LIST}, e.g. {_EXAMPLES}"
        )
    if amount < 1:
        raise DurationError(f'"{text}" is not a duration: the amount must be at least 1')
    return Duration(amount, unit)


def _validate_field(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except DurationError as error:
        # A custom error keeps pydantic from prefixing "Value error, " to our message.
        raise PydanticCustomError("duration", str(error)) from None
