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
from decimal import Decimal
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
    elif isinstance(value, str) and (wrong := _no_such_day(value)):
        raise PydanticCustomError(
            DATE_ERROR,
            "{shown} is not a day of the calendar ({wrong}); write a day that exists, "
            "as YYYY-MM-DD",
            {"shown": f'"{value.strip()}"', "wrong": wrong},
        )
    elif isinstance(value, str):
        shown = f'"{value[:60]}"'
    else:
        shown = repr(value)[:60]
    raise PydanticCustomError(
        DATE_ERROR,
        "{shown} is not a day; write the date alone as YYYY-MM-DD, e.g. 2027-04-01",
        {"shown": shown},
    )


def _no_such_day(value: str) -> str | None:
    """Why ``2026-02-30``, written as a day, is none; None for text of another shape."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return None
    try:
        date.fromisoformat(value.strip())
    except ValueError as error:
        return str(error)
    return None


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
    min: Decimal | None = Field(
        default=None,
        allow_inf_nan=False,
        ge=-limits.NUMBER_BOUND,
        le=limits.NUMBER_BOUND,
        description="For `integer` and `decimal` fields: the least answer accepted, e.g. `0` "
        "for a number of dependent children; a smaller answer is refused on completion.",
    )
    max: Decimal | None = Field(
        default=None,
        allow_inf_nan=False,
        ge=-limits.NUMBER_BOUND,
        le=limits.NUMBER_BOUND,
        description="For `integer` and `decimal` fields: the greatest answer accepted; a "
        "larger answer is refused on completion.",
    )

    @model_validator(mode="after")
    def _bounds_match_type(self) -> InformationField:
        bounded = [name for name in ("min", "max") if getattr(self, name) is not None]
        if bounded and self.response_type not in (ResponseType.integer, ResponseType.decimal):
            raise ValueError(
                f"`{bounded[0]}` only applies to integer and decimal fields, "
                f"not {self.response_type.value}"
            )
        if self.response_type is ResponseType.integer:
            for name in bounded:
                if getattr(self, name) != getattr(self, name).to_integral_value():
                    raise ValueError(f"`{name}` of an integer field must be a whole number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` {self.min} is greater than `max` {self.max}; swap them")
        return self

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

    target: ShortText = Field(
        description="Time allowed, e.g. `10 working days`, `48 hours`, `2 weeks` or `3 months`; "
        "on a working calendar a target in weeks or months that falls when the office is "
        "closed moves to the next opening."
    )
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
    the first three is required, so that no series runs for ever by mistake
    (`definitions.invariants` refuses a recurrence without one, an `until_outcome` that is
    not an outcome of the same task, and an `every` or `for` that is not a duration).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    every: ShortText = Field(
        description="Interval between occurrences, e.g. `1 week`, `2 weeks`, `1 month`, "
        "`5 working days`: a duration, like an SLA target."
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


OPERATORS = ("equals", "one_of", "above", "below", "at_least", "at_most", "is_true", "is_empty")
"""The operators of a condition on one field; `definitions.invariants` says which fit which
response type."""


def _plain_value(value: object) -> object:
    """A condition's value as JSON carries it: a day or a time as ISO text, a YAML number
    with a point as its decimal text (so `500.10` is not a binary fraction)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, list | tuple):
        return [_plain_value(item) for item in value]
    return value


ConditionValue = Annotated[
    bool | int | Annotated[str, Field(max_length=limits.NAME_LENGTH)],
    BeforeValidator(_plain_value),
]
"""What a field's answer is compared with: text, a whole number, yes or no; a decimal, a
date or a date and time is written as it reads (`500.50`, `2027-04-01`)."""


class Condition(DefinitionModel):
    """When a path is followed: a test of one information field, or `all` / `any` of
    other conditions. Structured data, never an expression: nothing written here runs.

    A test names the `field` and exactly one operator: `equals`, `one_of` (a list),
    `above`, `below`, `at_least`, `at_most` (numbers, dates, dates and times), `is_true`
    (`true`: answered yes, `false`: answered no; true_false fields) or `is_empty` (`true`:
    not answered, `false`: answered). A test of a field left unanswered does not hold,
    except `is_empty: true`.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    field: Identifier | None = Field(
        default=None, description="Id of an information field of the task."
    )
    equals: ConditionValue | None = Field(
        default=None, description="The answer is this (a lookup: this option)."
    )
    one_of: tuple[ConditionValue, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=limits.OPTIONS,
        description="The answer is one of these; for a multi_lookup, any chosen answer is.",
    )
    above: ConditionValue | None = Field(default=None, description="The answer is greater.")
    below: ConditionValue | None = Field(default=None, description="The answer is smaller.")
    at_least: ConditionValue | None = Field(
        default=None, description="The answer is this or greater."
    )
    at_most: ConditionValue | None = Field(
        default=None, description="The answer is this or smaller."
    )
    is_true: bool | None = Field(
        default=None, description="`true`: answered yes; `false`: answered no."
    )
    is_empty: bool | None = Field(
        default=None, description="`true`: not answered; `false`: answered."
    )
    all_: tuple[Condition, ...] | None = Field(
        default=None,
        alias="all",
        min_length=1,
        max_length=limits.CONDITION_PARTS,
        description="Every one of these conditions holds.",
    )
    any_: tuple[Condition, ...] | None = Field(
        default=None,
        alias="any",
        min_length=1,
        max_length=limits.CONDITION_PARTS,
        description="At least one of these conditions holds.",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        operators = [name for name in OPERATORS if getattr(self, name) is not None]
        joins = [name for name, value in (("all", self.all_), ("any", self.any_)) if value]
        if joins:
            if len(joins) > 1 or operators or self.field is not None:
                raise ValueError(
                    "a condition is either `all` or `any` of conditions, or a test of one "
                    "`field`; nest them to combine, e.g. all: [{any: [...]}, {field: ...}]"
                )
            return self
        if self.field is None:
            raise ValueError(
                "a condition needs a `field` and an operator (e.g. field: arrears, above: "
                "500), or `all` / `any` of conditions"
            )
        if len(operators) != 1:
            found = ", ".join(operators) if operators else "none"
            raise ValueError(
                f"a test of a field takes exactly one operator of {', '.join(OPERATORS)}; "
                f"found {found}"
            )
        return self

    @property
    def operator(self) -> str | None:
        """The operator of a test of one field; None for `all` / `any`."""
        return next((name for name in OPERATORS if getattr(self, name) is not None), None)

    @property
    def value(self) -> Any:
        """The operator's value of a test of one field."""
        return getattr(self, self.operator) if self.operator else None


class CommunicationStep(DefinitionModel):
    """A message a path sends: a template to stated recipients, through the same outbox
    (and with the same idempotency) as escalation notices."""

    template: Identifier = Field(description="Communication template of the message.")
    notify: Notify = Field(
        default_factory=Notify,
        description="Who is told: the task owner, their manager, stakeholder groups, fixed "
        "addresses (as an escalation's `notify`).",
    )


class TaskPath(DefinitionModel):
    """A decision on what was recorded when the task is completed: when its condition
    holds (for its outcome, if it names one), it adds tasks, sends a communication and/or
    completes the case. Every path that holds is followed, in order; one that completes
    the case is the last."""

    id: Identifier = Field(description="Stable id of the path within its task.")
    outcome: Identifier | None = Field(
        default=None,
        description="An outcome of the task: the path is followed only when the task is "
        "completed with it; none: whatever the outcome.",
    )
    when: Condition | None = Field(
        default=None,
        description="A condition on the task's information fields, e.g. `{field: "
        "arrears-amount, above: 500}`; none: always (for its outcome).",
    )
    adds_tasks: tuple[Identifier, ...] = Field(
        default=(),
        max_length=limits.ADDED_TASKS,
        description="Tasks of the same type added to the plan, as an outcome's `adds_tasks` "
        "adds them (once, unless repeatable).",
    )
    completes_case: Identifier | None = Field(
        default=None,
        description="A case outcome: the case completes with it, cancelling what is still in "
        "progress; the path's end (paths after it are not followed).",
    )
    sends: CommunicationStep | None = Field(
        default=None,
        description="A communication step: a template sent to stated recipients, once per "
        "task instance.",
    )

    @model_validator(mode="after")
    def _does_something(self) -> TaskPath:
        if not (self.adds_tasks or self.completes_case or self.sends):
            raise ValueError(
                "a path needs something to follow: `adds_tasks`, `completes_case` or `sends`"
            )
        return self


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
    paths: tuple[TaskPath, ...] = Field(
        default=(),
        max_length=limits.PATHS,
        description="Decisions on what was recorded: on completion, each path whose outcome "
        "matches (or that names none) and whose `when` holds is followed, in order.",
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

    def path(self, path_id: str) -> TaskPath | None:
        return next((p for p in self.paths if p.id == path_id), None)

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
