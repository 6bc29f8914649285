"""The definitions format: provision types, their tasks, outcomes and information fields.

These pydantic models are the contract for the YAML files under ``definitions/``. Field
descriptions document the format for configuration administrators. A provision type is
also the *snapshot* a case carries from the moment it opens, so these models must stay
serialisable and backwards compatible: add optional fields, never rename or remove one.
Every text and list is bounded (`definitions.limits`), and a `ProvisionType` cannot be
built that breaks the rules of a type (`definitions.invariants`), however it arrives.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import limits
from .calendars import CalendarDefinition
from .invariants import check_provision_type
from .periods import calendar_date

RULES_ERROR = "provision_type_rules"
"""The pydantic error type of a type that breaks `definitions.invariants`; its context
holds ``problems``, a list of ``[location, message]`` pairs."""

DATE_ERROR = "calendar_date"
"""The pydantic error type of a date that is not a calendar day written YYYY-MM-DD."""

CALENDAR_CONTEXT = "calendar"
"""Validation context key: the calendar definition a type's durations count in, for a type
that does not carry its `resolved_calendar` yet (the loader passes it)."""

IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""Ids are lowercase words joined by hyphens, so they read well in keys, URLs and YAML."""

Identifier = Annotated[
    str,
    Field(
        pattern=IDENTIFIER.pattern,
        min_length=1,
        max_length=64,
        description="Lowercase letters, digits and hyphens, e.g. `home-visit`.",
    ),
]
ShortText = Annotated[str, Field(max_length=limits.NAME_LENGTH)]
"""A name, label, owner, option or duration: at most `limits.NAME_LENGTH` characters."""
Address = Annotated[str, Field(max_length=limits.ADDRESS_LENGTH)]
"""An email address: at most `limits.ADDRESS_LENGTH` characters."""


def _calendar_date(value: object) -> object:
    """A day as an administrator writes it in YAML, quoted or not; nothing else, so that a
    number is never read as seconds since 1970 and a time of day is never dropped."""
    if value is None:
        return value
    day = calendar_date(value)
    if day is not None:
        return day
    if isinstance(value, datetime):
        shown = f"the date and time {value:%Y-%m-%d %H:%M}"
    elif isinstance(value, str):
        shown = f'"{value[:60]}"'
    else:
        shown = repr(value)[:60]
    raise PydanticCustomError(
        DATE_ERROR,
        "{shown} is not a day; write the date alone as YYYY-MM-DD, e.g. 2027-04-01",
        {"shown": shown},
    )


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A calendar day, written ``YYYY-MM-DD``."""

PERIOD_DAYS = (
    "Both days are included: `effective_to: 2027-03-31` still applies on 31 March 2027. "
    "Days are in the time zone of the type's calendar (Europe/London for the shipped "
    "calendars, and for a calendar that runs around the clock)."
)


def _period_field(description: str) -> Any:
    return Field(default=None, description=f"{description} {PERIOD_DAYS}")


class DefinitionModel(BaseModel):
    """Base for every definitions model: unknown keys are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(StrEnum):
    assessment = "assessment"
    support_plan = "support_plan"


class Audience(StrEnum):
    customer_facing = "customer_facing"
    internal = "internal"


class ResponseType(StrEnum):
    text = "text"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    date_time = "date_time"
    true_false = "true_false"
    lookup = "lookup"
    multi_lookup = "multi_lookup"


class InformationField(DefinitionModel):
    """Something a person records when completing a task."""

    id: Identifier = Field(description="Stable id of the field within its task.")
    label: ShortText = Field(min_length=1, description="What the person completing the task sees.")
    response_type: ResponseType = Field(description="The kind of answer expected.")
    mandatory: bool = Field(default=False, description="Whether completion requires an answer.")
    options: tuple[ShortText, ...] = Field(
        default=(),
        max_length=limits.OPTIONS,
        description="The allowed answers of a `lookup` or `multi_lookup` field.",
    )
    help: str | None = Field(
        default=None,
        max_length=limits.HELP_LENGTH,
        description="Guidance shown beside the field.",
    )

    @model_validator(mode="after")
    def _options_match_type(self) -> InformationField:
        is_lookup = self.response_type in (ResponseType.lookup, ResponseType.multi_lookup)
        if is_lookup and not self.options:
            raise ValueError(f"a {self.response_type.value} field needs a list of `options`")
        if not is_lookup and self.options:
            raise ValueError(
                f"`options` only apply to lookup and multi_lookup fields, "
                f"not {self.response_type.value}"
            )
        if len(set(self.options)) != len(self.options):
            raise ValueError("`options` contains the same answer twice")
        return self


class Outcome(DefinitionModel):
    """A result a task or a case may be completed with."""

    id: Identifier = Field(description="Stable id of the outcome, e.g. `need-identified`.")
    label: ShortText = Field(min_length=1, description="How the outcome reads to people.")
    adds_tasks: tuple[Identifier, ...] = Field(
        default=(),
        max_length=limits.ADDED_TASKS,
        description="Workflow path: tasks of the same type this outcome adds to the plan.",
    )
    follow_on_type: Identifier | None = Field(
        default=None,
        description="For case outcomes: a provision type whose case this outcome opens, "
        "once, for the same tenant, when the case completes or is closed with it. The "
        "follow-on case starts on the published version of that type in effect that day; "
        "its reference is the parent's with the initials of the type (`TSA-1` opens "
        "`TSA-1-FISP`; shortened with a hash past 100 characters); its owner is the "
        "parent's, unless that type names a `follow_on_owner`.",
    )
    case_outcome: Identifier | None = Field(
        default=None,
        description="For task outcomes: the case outcome recorded when the case completes "
        "after this task was completed with this outcome (the latest such task counts).",
    )


class Dependency(DefinitionModel):
    """A task that must be completed before the dependant may commence."""

    task: Identifier = Field(description="Id of the task depended on, in the same type.")
    lag: ShortText | None = Field(
        default=None,
        description="Time to wait after the dependency completes, e.g. `2 working days`.",
    )


def _dependency_from_text(value: object) -> object:
    return {"task": value} if isinstance(value, str) else value


class SlaDefinition(DefinitionModel):
    """A service level agreement: a target and the warning period before it."""

    target: ShortText = Field(description="Time allowed, e.g. `10 working days` or `48 hours`.")
    warning: ShortText | None = Field(
        default=None, description="How long before the target the warning point falls."
    )
    allows_revision: bool = Field(
        default=False, description="Whether an authorised person may override the target."
    )


class Trigger(StrEnum):
    warning = "warning"
    breach = "breach"
    stagnation = "stagnation"


class Priority(StrEnum):
    normal = "normal"
    high = "high"
    urgent = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Notify(DefinitionModel):
    """Who an escalation tells."""

    owner: bool = Field(default=True, description="The owner of the task or case.")
    owner_manager: bool = Field(default=False, description="The owner's manager.")
    groups: tuple[Identifier, ...] = Field(
        default=(),
        max_length=limits.GROUPS,
        description="Stakeholder groups of the directory, e.g. `safeguarding-panel`.",
    )
    addresses: tuple[Address, ...] = Field(
        default=(), max_length=limits.ADDRESSES, description="Fixed email addresses."
    )


class Repeat(DefinitionModel):
    """Fire again while still unresolved: `every` interval, at most `times` more times."""

    every: ShortText = Field(description="Interval between repeats, e.g. `2 working days`.")
    times: int = Field(ge=1, le=50, description="How many repeats at most.")


class EscalationAction(DefinitionModel):
    """What a rule does when it fires."""

    id: Identifier = Field(description="Stable id of the rule within its task or type.")
    template: Identifier = Field(description="Communication template of the notification.")
    notify: Notify = Field(default_factory=Notify, description="Who is told.")
    reassign_to: ShortText | None = Field(
        default=None, description="Person, role or team the task (or case) is reassigned to."
    )
    raise_priority: Priority | None = Field(
        default=None, description="Raise the case priority to at least this."
    )
    repeat: Repeat | None = Field(default=None, description="Fire again while unresolved.")
    follow_on: tuple[FollowOnRule, ...] = Field(
        default=(),
        max_length=limits.FOLLOW_ON_RULES,
        description="Rules that fire later if what was escalated is still unresolved; "
        f"follow-on rules nest at most {limits.FOLLOW_ON_DEPTH} levels deep.",
    )


class FollowOnRule(EscalationAction):
    """Fires `after` its parent rule fired, if the task or case is still unresolved.

    A follow-on rule has no period of its own: it is in effect with the rule it follows,
    because it only ever fires after that rule. To change it from a date, end the rule
    (`effective_to`) and start a new rule with the new follow-on rules the day after.
    """

    after: ShortText = Field(description="Time after the parent fired, e.g. `3 working days`.")


class EscalationRule(EscalationAction):
    """What happens automatically when a task or case nears or passes its target, or stalls."""

    trigger: Trigger = Field(description="`warning`, `breach` or `stagnation`.")
    stagnation_after: ShortText | None = Field(
        default=None, description="For `stagnation`: how long without activity, e.g. `5 days`."
    )
    delay: ShortText | None = Field(
        default=None, description="Wait this long after the trigger point before firing."
    )
    effective_from: CalendarDate | None = _period_field(
        "First day the rule, with its follow-on rules, is part of the cases that open; "
        "none: since always. A case keeps the rules it opened with."
    )
    effective_to: CalendarDate | None = _period_field(
        "Last day the rule is part of the cases that open; none: no end."
    )

    @model_validator(mode="after")
    def _stagnation_needs_a_period(self) -> EscalationRule:
        if self.trigger is Trigger.stagnation and not self.stagnation_after:
            raise ValueError("a stagnation rule needs `stagnation_after`, e.g. `5 working days`")
        if self.trigger is not Trigger.stagnation and self.stagnation_after:
            raise ValueError("`stagnation_after` only applies to stagnation rules")
        return self


class RecurrenceFrom(StrEnum):
    schedule = "schedule"
    completion = "completion"


class Recurrence(DefinitionModel):
    """How a task repeats: each occurrence is a task instance of its own (`check-in`,
    `check-in#2`, ...) with its own SLA clock, opened when it falls due.

    A series ends after `times` occurrences, once `for` has passed since the first, when an
    occurrence is completed with `until_outcome`, or when a person stops it; at least one of
    the first three is required, so that no series runs for ever by mistake.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    every: ShortText = Field(
        description="Interval between occurrences, e.g. `1 week`, `2 weeks`, `1 month`, "
        "`5 working days`."
    )
    times: int | None = Field(
        default=None, ge=1, le=limits.OCCURRENCES, description="That many occurrences in all."
    )
    for_: ShortText | None = Field(
        default=None,
        alias="for",
        description="A period from the first occurrence, e.g. `3 months`: no occurrence "
        "falls due after it.",
    )
    until_outcome: Identifier | None = Field(
        default=None,
        description="An outcome of the task: the series ends when an occurrence is completed "
        "with it.",
    )
    from_: RecurrenceFrom = Field(
        default=RecurrenceFrom.schedule,
        alias="from",
        description="`schedule`: a fixed cadence from the first occurrence (Monday's visit "
        "stays on Mondays even when one was late); `completion`: the next falls due `every` "
        "after the previous one was completed.",
    )


class TaskDefinition(DefinitionModel):
    """A specific activity done as part of a case."""

    id: Identifier = Field(description="Stable id of the task within its type.")
    name: ShortText = Field(min_length=1, description="How the task reads to people.")
    description: str = Field(
        default="",
        max_length=limits.DESCRIPTION_LENGTH,
        description="What the task involves and why.",
    )
    owner: ShortText | None = Field(
        default=None,
        description="Role, team or person who owns the task; the case owner when omitted.",
    )
    automatic: bool = Field(
        default=True,
        description="Joins the plan when the case opens; `false` means added manually only.",
    )
    mandatory: bool = Field(
        default=True,
        description="Must be completed before the case can complete; optional tasks can be "
        "bypassed.",
    )
    repeatable: bool = Field(
        default=False,
        description="May appear more than once in the same execution plan.",
    )
    recurrence: Recurrence | None = Field(
        default=None,
        description="How the task repeats by itself; `repeatable` still says whether people "
        "may also add instances by hand.",
    )
    depends_on: tuple[Dependency, ...] = Field(
        default=(),
        max_length=limits.DEPENDENCIES,
        description="Tasks that must be completed before this one may commence.",
    )
    outcomes: tuple[Outcome, ...] = Field(
        default=(),
        max_length=limits.OUTCOMES,
        description="Outcomes the task may be completed with; none means no outcome is asked.",
    )
    fields: tuple[InformationField, ...] = Field(
        default=(), max_length=limits.FIELDS, description="What a person records on completion."
    )
    sla: SlaDefinition | None = Field(default=None, description="The task's SLA, if any.")
    escalations: tuple[EscalationRule, ...] = Field(
        default=(),
        max_length=limits.ESCALATION_RULES,
        description="Escalation rules of the task's SLA and activity.",
    )
    effective_from: CalendarDate | None = _period_field(
        "First day the task is part of the cases that open; none: since always. A case "
        "keeps the tasks it opened with. Task ids stay unique within a type: to change a "
        "task from a date, end it and add its successor under a new id, or define a new "
        "version of the type from that date."
    )
    effective_to: CalendarDate | None = _period_field(
        "Last day the task is part of the cases that open; none: no end."
    )

    @field_validator("depends_on", mode="before")
    @classmethod
    def _dependencies_may_be_plain_ids(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return [_dependency_from_text(item) for item in value]
        return value

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def field(self, field_id_or_label: str) -> InformationField | None:
        wanted = field_id_or_label.strip().casefold()
        return next(
            (f for f in self.fields if wanted in (f.id.casefold(), f.label.casefold())), None
        )


class ProvisionType(DefinitionModel):
    """The building block of every case: what it is for, its tasks, its outcomes."""

    id: Identifier = Field(description="Stable id of the provision type.")
    name: ShortText = Field(min_length=1, description="How the type reads to people.")
    category: Category = Field(description="`assessment` or `support_plan`.")
    audience: Audience = Field(description="`customer_facing` or `internal`.")
    description: str = Field(
        default="", max_length=limits.DESCRIPTION_LENGTH, description="What the provision is for."
    )
    services: tuple[ShortText, ...] = Field(
        default=(),
        max_length=limits.SERVICES,
        description="Services the provision offers or signposts.",
    )
    partner_agencies: tuple[ShortText, ...] = Field(
        default=(),
        max_length=limits.PARTNER_AGENCIES,
        description="Partner agencies the provision signposts or involves.",
    )
    default_owner: ShortText | None = Field(
        default=None, description="Owner of new cases when the starter names none."
    )
    follow_on_owner: ShortText | None = Field(
        default=None,
        description="Person, team or role of the directory who owns a case of this type "
        "opened as a follow-on of another case (an outcome's `follow_on_type`); when "
        "omitted, the owner of the case it was opened from keeps it.",
    )
    calendar: ShortText = Field(
        default="24x7", description="Calendar the type's SLAs are counted in."
    )
    may_be_held: bool = Field(default=True, description="Whether cases may be paused.")
    sla: SlaDefinition | None = Field(default=None, description="The case SLA, if any.")
    escalations: tuple[EscalationRule, ...] = Field(
        default=(),
        max_length=limits.ESCALATION_RULES,
        description="Escalation rules of the case SLA and activity.",
    )
    resolved_calendar: CalendarDefinition | None = Field(
        default=None,
        description="Filled in by the loader: the definition of `calendar`, so that a case "
        "keeps counting in the calendar it opened with. Do not write it by hand.",
    )
    tasks: tuple[TaskDefinition, ...] = Field(
        max_length=limits.TASKS, description="The tasks the type comprises."
    )
    outcomes: tuple[Outcome, ...] = Field(
        default=(),
        max_length=limits.OUTCOMES,
        description="Outcomes a case of this type may be closed with.",
    )
    effective_from: CalendarDate | None = _period_field(
        "First day cases open on this definition of the type; none: since always. Several "
        "files may define one type id for periods that do not overlap, each a version of "
        "the type from a date; a case runs on the one in effect on the day it opens."
    )
    effective_to: CalendarDate | None = _period_field(
        "Last day cases open on this definition; none: no end. Cases opened earlier run on."
    )

    @model_validator(mode="after")
    def _meets_the_rules_of_a_type(self, info: ValidationInfo) -> ProvisionType:
        # Every construction, however the type arrived (files, database, Temporal), so a
        # case is never opened on a type that cannot run.
        calendar = (info.context or {}).get(CALENDAR_CONTEXT)
        problems = check_provision_type(self, calendar=calendar)
        if problems:
            count = len(problems)
            listing = "; ".join(str(p) for p in problems)
            raise PydanticCustomError(
                RULES_ERROR,
                "the provision type breaks {count} of its rules: {listing}",
                {
                    "count": count,
                    "listing": listing,
                    "problems": [[p.location, p.message] for p in problems],
                },
            )
        return self

    def task(self, task_id: str) -> TaskDefinition | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.id == outcome_id), None)
