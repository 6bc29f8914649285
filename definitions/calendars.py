"""The calendars file, ``definitions/catalog/calendars.yaml``: format, validation, loading.

The field descriptions document the format. Everything wrong with a file is reported at once,
each problem with the file name and the path of the field, so an administrator can fix the
file in one go::

    calendars.yaml: calendars[1].timezone: "Europe/Londn" is not a known time zone ...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from . import limits
from .bank_holidays import NATIONS, bank_holidays
from .yaml_files import BoundedLoader, DefinitionFileRefused, read_definition_text

__all__ = [
    "WEEKDAYS",
    "CalendarCatalogFile",
    "CalendarDefinition",
    "CalendarFileError",
    "ContinuousCalendarDefinition",
    "WorkingTimeCalendarDefinition",
    "load_calendar_definitions",
]

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
KINDS: tuple[str, ...] = ("continuous", "working_time")
_KIND_LIST = " or ".join(f'"{kind}"' for kind in KINDS)
_NATION_LIST = ", ".join(f'"{nation}"' for nation in NATIONS)
_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CLOCK_PATTERN = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def _error(kind: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to the message.
    return PydanticCustomError(kind, message)


def _calendar_id(value: Any) -> Any:
    if isinstance(value, str) and not _ID_PATTERN.fullmatch(value):
        raise _error(
            "calendar_id",
            f'"{value}" is not a valid calendar id: use lower-case letters, digits and '
            'hyphens, e.g. "england-and-wales"',
        )
    return value


def _clock_time(value: Any) -> Any:
    if isinstance(value, bool):
        raise _error("clock_time", f'{value!r} is not a time of day: write e.g. "09:00"')
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020.
        hours, minutes = divmod(value, 60)
        raise _error(
            "clock_time",
            f"YAML read this as the number {value}: put the time in quotes, e.g. "
            f'"{hours:02d}:{minutes:02d}"',
        )
    if isinstance(value, str):
        match = _CLOCK_PATTERN.fullmatch(value.strip())
        if match is None:
            raise _error("clock_time", f'"{value}" is not a time of day: write HH:MM, e.g. "09:00"')
        return time(int(match[1]), int(match[2]))
    return value


def _weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return value.strip().lower()
    raise _error("weekday", f'"{value}" is not a day of the week: write e.g. "monday", "tuesday"')


CalendarId = Annotated[str, BeforeValidator(_calendar_id), Field(max_length=limits.NAME_LENGTH)]
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda t: t.isoformat(timespec="minutes"), return_type=str),
]
Weekday = Annotated[str, BeforeValidator(_weekday)]


class _CalendarDefinitionBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CalendarId = Field(
        description="How provision types refer to the calendar: lower-case letters, digits "
        'and hyphens, unique in the file, e.g. "england-and-wales".'
    )
    name: str = Field(
        min_length=1,
        max_length=limits.NAME_LENGTH,
        description="A readable name for people, e.g. 'Office hours, Scotland'.",
    )


class ContinuousCalendarDefinition(_CalendarDefinitionBase):
    """Around the clock: every instant counts, a working day is 24 hours."""

    kind: Literal["continuous"] = Field(
        description='"continuous": the clock never stops (weekends and holidays count).'
    )


class WorkingTimeCalendarDefinition(_CalendarDefinitionBase):
    """Office hours on working days; the clock stops outside them."""

    kind: Literal["working_time"] = Field(
        description='"working_time": the clock runs only during opening hours on working days.'
    )
    timezone: str = Field(
        max_length=limits.NAME_LENGTH,
        description='IANA time zone whose wall clock the hours are in, e.g. "Europe/London" '
        "(09:00 means 09:00 GMT in winter and 09:00 BST in summer).",
    )
    working_days: list[Weekday] = Field(
        max_length=len(WEEKDAYS),
        description="Days of the week the office opens, e.g. [monday, tuesday, wednesday, "
        "thursday, friday]. At least one.",
    )
    opens: ClockTime = Field(
        description='Opening time, local, "HH:MM" in quotes (YAML reads unquoted 17:00 as a '
        "number)."
    )
    closes: ClockTime = Field(
        description='Closing time, local, "HH:MM" in quotes, after the opening time on the '
        "same day. The closing instant itself is not working time."
    )
    bank_holidays: str | None = Field(
        description=f"Whose bank holidays close the office: one of {_NATION_LIST}, or null "
        "for none. England and Wales share one set."
    )
    extra_closures: list[date] = Field(
        default_factory=list,
        max_length=limits.EXTRA_CLOSURES,
        description="Further dates (ISO, e.g. 2026-12-29) the office is closed, such as "
        "between Christmas and New Year. Optional.",
    )
    bank_holiday_dates: list[date] = Field(
        default_factory=list,
        max_length=limits.BANK_HOLIDAY_DATES,
        description="Filled in when a provision type is loaded: the bank holidays of "
        "`bank_holidays` over the years cases may run, so a running case keeps the holidays "
        "it opened with and never needs the holidays package. Do not write it by hand.",
    )

    def with_bank_holidays(self, first_year: int, last_year: int) -> Self:
        """A copy that carries its bank holidays as dates, for a case snapshot."""
        if self.bank_holidays is None:
            return self
        dates = sorted(
            day
            for year in range(first_year, last_year + 1)
            for day in bank_holidays(self.bank_holidays, year)
        )
        return self.model_copy(update={"bank_holiday_dates": dates})

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _error(
                "time_zone",
                f'"{value}" is not a known time zone: use an IANA name, e.g. "Europe/London"',
            ) from None
        return value

    @field_validator("working_days")
    @classmethod
    def _some_distinct_days(cls, value: list[str]) -> list[str]:
        if not value:
            raise _error("working_days", "list at least one working day, e.g. [monday]")
        repeated = sorted({day for day in value if value.count(day) > 1}, key=WEEKDAYS.index)
        if repeated:
            raise _error("working_days", f"{', '.join(repeated)} listed more than once")
        return value

    @field_validator("closes")
    @classmethod
    def _after_opening(cls, value: time, info: ValidationInfo) -> time:
        opens = info.data.get("opens")
        if opens is not None and value <= opens:
            raise _error(
                "closing_time",
                f'closing time "{value:%H:%M}" must be after the opening time "{opens:%H:%M}"',
            )
        return value

    @field_validator("bank_holidays")
    @classmethod
    def _known_nation(cls, value: str | None) -> str | None:
        if value is not None and value not in NATIONS:
            raise _error(
                "nation",
                f'"{value}" is not a UK nation with bank holidays: use {_NATION_LIST} or null',
            )
        return value


CalendarDefinition = Annotated[
    ContinuousCalendarDefinition | WorkingTimeCalendarDefinition,
    Field(discriminator="kind"),
]


class CalendarCatalogFile(BaseModel):
    """The whole calendars file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendars: list[CalendarDefinition] = Field(
        max_length=limits.CALENDARS,
        description="Every calendar a provision type may count its SLAs in.",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> CalendarCatalogFile:
        seen: set[str] = set()
        for calendar in self.calendars:
            if calendar.id in seen:
                raise _error("duplicate_calendar_id", f'calendar id "{calendar.id}" is repeated')
            seen.add(calendar.id)
        return self


class CalendarFileError(ValueError):
    """A calendars file with problems; ``problems`` has one line per problem."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = [f"{source}: {problem}" for problem in problems]
        super().__init__("\n".join(self.problems))


def load_calendar_definitions(
    path: Path, *, display_name: str | None = None
) -> CalendarCatalogFile:
    """Read and validate a calendars file; raise CalendarFileError listing every problem.

    ``display_name`` is how problems name the file (default: the file name).
    """
    source = display_name or path.name
    try:
        data = yaml.load(read_definition_text(path), Loader=BoundedLoader)  # noqa: S506
    except OSError as error:
        raise CalendarFileError(source, [f"cannot be read: {error.strerror or error}"]) from None
    except UnicodeDecodeError as error:
        raise CalendarFileError(
            source, [f"is not UTF-8 text ({error.reason}); save it as UTF-8"]
        ) from None
    except DefinitionFileRefused as refused:
        raise CalendarFileError(source, [str(refused)]) from None
    except ValueError as error:  # e.g. a number with thousands of digits
        raise CalendarFileError(source, [f"could not be read: {error}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CalendarFileError(source, [f"is not valid YAML{where}: {problem}"]) from None
    if not isinstance(data, dict):
        raise CalendarFileError(source, ["must be a mapping with a 'calendars' list"])

    problems = _duplicate_ids(data)
    try:
        catalog = CalendarCatalogFile.model_validate(data)
    except ValidationError as error:
        problems += [
            _describe(detail)
            for detail in error.errors(include_url=False)
            if detail["type"] != "duplicate_calendar_id"
        ]
    else:
        if not problems:
            return catalog
    raise CalendarFileError(source, sorted(problems, key=_entry_index))


def _entry_index(problem: str) -> int:
    match = re.match(r"calendars\[(\d+)\]", problem)
    return int(match[1]) if match else -1


def _duplicate_ids(data: dict[str, Any]) -> list[str]:
    entries = data.get("calendars")
    if not isinstance(entries, list):
        return []
    first: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        calendar_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(calendar_id, str):
            continue
        if calendar_id in first:
            problems.append(
                f'calendars[{index}].id: "{calendar_id}" is already the id of '
                f"calendars[{first[calendar_id]}]"
            )
        else:
            first[calendar_id] = index
    return problems


_FIELDS_BY_KIND = {
    "continuous": ContinuousCalendarDefinition.model_fields,
    "working_time": WorkingTimeCalendarDefinition.model_fields,
}


def _describe(detail: ErrorDetails) -> str:
    """One problem as "field.path: what is wrong"."""
    loc = list(detail["loc"])
    kind = None
    # A tagged union puts the tag into the path: calendars[1].working_time.timezone.
    if len(loc) >= 3 and loc[0] == "calendars" and loc[2] in KINDS:
        kind = str(loc.pop(2))
    message = detail["msg"]
    match detail["type"]:
        case "missing":
            message = "is required"
        case "extra_forbidden":
            known = ", ".join(_FIELDS_BY_KIND[kind]) if kind else "calendars"
            message = f"is not a known field (known fields: {known})"
        case "union_tag_invalid":
            loc.append("kind")
            message = f'"{detail["input"].get("kind")}" is not a calendar kind: use {_KIND_LIST}'
        case "union_tag_not_found":
            loc.append("kind")
            message = f"is required: use {_KIND_LIST}"
        case "model_attributes_type" | "model_type" if len(loc) == 2:
            message = "must be a mapping with id, name and kind"
        case "string_too_short":
            message = "must not be empty"
        case "string_too_long":
            message = f"is too long; the limit is {detail['ctx']['max_length']:,} characters"
        case "too_long":
            ctx = detail["ctx"]
            message = f"has {ctx['actual_length']:,} entries; the limit is {ctx['max_length']:,}"
        case "date_parsing" | "date_from_datetime_parsing" | "date_type":
            reason = detail.get("ctx", {}).get("error")
            message = f'"{detail["input"]}" is not a date: write YYYY-MM-DD' + (
                f" ({reason})" if reason else ""
            )
    return f"{_format_loc(loc)}: {message}" if loc else message


def _format_loc(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
