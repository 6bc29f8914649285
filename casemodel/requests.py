"""Every request a case takes: one strict message each, read and bounded before the rules.

A request arrives from outside: through our client, from another system through Temporal
directly, or typed by hand into the `temporal` CLI. Each kind is one pydantic model here,
and `read_request` is the only way from the bytes that arrive to a model: it refuses, with a
stable code and a message a person can act on, anything that is not exactly one request
of that kind within the limits below. Nothing a caller sends reaches the case rules, the
case log or the register unchecked, so no caller can wedge a case by getting it wrong.

Field names are the ones recorded histories use (`request_id`, `due_at`); the camelCase
spellings that JavaScript and Java systems write (`requestId`, `dueAt`) are accepted too.
Unknown fields are refused by name, never dropped: a misspelt `requestID` silently dropped
would lose a completion's idempotency.

Limits (a housing officer never meets them; a runaway integration does):

| What | Limit | Why |
| --- | --- | --- |
| encoded request | 64 KiB | well below Temporal's 512 KB warning per payload |
| encoded start input | 512 KiB | the provision type snapshot travels in it |
| note or reason | 4,000 characters | about a page; case notes belong in the housing system |
| a text response | 4,000 characters | as a note |
| responses in one completion | 100 | more than any task's information fields |
| choices in a multi-lookup response | 100 | more than any lookup's options |
| a number response | ±10^15, 10 decimal places | pounds or pence of any real sum |
| task key, case or tenant reference | 100 characters | the register's columns |
| who (`by`), request id, field label | 200 characters | the register's columns |
| revised target | within 10 years of now, with a UTC offset | a date past that is a typo |

Text may not contain control characters other than tab and line breaks: PostgreSQL refuses
a NUL byte, and a register that cannot be written falls behind for good.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from definitions.schema import ProvisionType
from definitions.snapshot import carried_form

from .errors import InvalidRequest, MalformedRequest, RequestTooLarge, UnknownRequest
from .snapshots import SharedProvisionType
from .state import CaseState, CaseStatus, LogEntry

REQUEST_BYTES = 64 * 1024
START_BYTES = 512 * 1024
TEXT_LIMIT = 4_000
NAME_LIMIT = 200
REF_LIMIT = 100
RESPONSES_LIMIT = 100
CHOICES_LIMIT = 100
HISTORY_BUDGET = 1_000
"""Events a run reaches before the case continues as new: well under the 4,096 at which
Temporal suggests it, so that an evicted case is rebuilt from a short history (a run of
1,000 events replays in about 0.4 s; see bench/README.md)."""
CONTINUE_BYTES = 1536 * 1024
"""What a case may carry into its next run, encoded: well under Temporal's 2 MB."""
REVISION_HORIZON = timedelta(days=3653)
"""How far from now a revised target may lie, either way: ten years."""

JSON = "json/plain"
UNOPENED = "binary/unopened"
"""A payload marked sealed that the worker could not open (`protection.codec`): the data
says why."""
STARTER = "starter"
"""The `opened_by` of a start request that leaves it out."""
PROBLEMS_SHOWN = 5
EXCERPT = 40

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains a control character; send plain text")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("is not a finite number")
    return value


Text = Annotated[str, StringConstraints(max_length=TEXT_LIMIT), AfterValidator(_printable)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_LIMIT), AfterValidator(_printable)
]
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=REF_LIMIT, pattern=r"^[^\s\x00-\x1f\x7f]+$"),
]
TaskRef = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=REF_LIMIT, pattern=r"^[a-z0-9][a-z0-9-]*(#[1-9][0-9]*)?$"
    ),
]
"""A task key (`home-visit#2`) or definition id (`home-visit`)."""
OutcomeId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
HistoryBudget = Annotated[int, Field(ge=200, le=4_000)]
"""More would be no use: Temporal suggests continuing as new at 4,096 events."""
FOLLOW_ON_RETRY = 60
"""Seconds after a failed attempt to open a follow-on case before the next, by default
(doubling to an hour: `casemodel.follow_on.retry_delay`)."""
FollowOnRetry = Annotated[int, Field(ge=1, le=3_600)]
"""From a second (tests, demonstrations) to the hour that retries never pass."""
SentResponse = (
    int
    | Annotated[float, AfterValidator(_finite)]
    | bool
    | Text
    | Annotated[list[Name], Field(max_length=CHOICES_LIMIT)]
    | None
)
"""A response as sent for one information field (by label or id); `casemodel.responses`
checks it against the field and normalises it, numbers within ±10^15 (`responses.NUMBER_LIMIT`)
whether they arrive as JSON numbers or as text, so the refusal names the limit."""


class Request(BaseModel):
    """A request to a case. `kind` is the name it travels under (the update or signal)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )

    kind: ClassVar[str]
    by: Name = Field(
        default="unknown",
        description="Who made the request. With identities, leave it out (or give the "
        "identity's own id): the log records the verified identity.",
    )


class CompleteTask(Request):
    kind: ClassVar[str] = "complete_task"

    task: TaskRef = Field(description="Task key (`home-visit#2`) or definition id.")
    outcome: OutcomeId | None = None
    responses: dict[Name, SentResponse] = Field(default_factory=dict, max_length=RESPONSES_LIMIT)
    note: Text | None = None
    request_id: Name | None = Field(
        default=None, description="Makes a fire-and-forget completion idempotent."
    )


class AddTask(Request):
    kind: ClassVar[str] = "add_task"

    task: TaskRef = Field(description="Task definition id.")
    note: Text | None = None


class CancelTask(Request):
    kind: ClassVar[str] = "cancel_task"

    task: TaskRef
    cascade: bool = Field(default=False, description="Also cancel what depends on it.")
    reason: Text | None = None


class BypassTask(Request):
    kind: ClassVar[str] = "bypass_task"

    task: TaskRef
    reason: Text | None = None


class UndoCompletion(Request):
    kind: ClassVar[str] = "undo_completion"

    task: TaskRef
    reason: Text | None = None


class CloseCase(Request):
    kind: ClassVar[str] = "close_case"

    outcome: OutcomeId | None = None
    reason: Text | None = None


class PauseCase(Request):
    kind: ClassVar[str] = "pause_case"

    reason: Text


class ResumeCase(Request):
    kind: ClassVar[str] = "resume_case"


class HoldTask(Request):
    kind: ClassVar[str] = "hold_task"

    task: TaskRef
    reason: Text


class ReleaseTask(Request):
    kind: ClassVar[str] = "release_task"

    task: TaskRef


class ReviseTarget(Request):
    kind: ClassVar[str] = "revise_target"

    clock: TaskRef = Field(description="`case`, or the key of a task.")
    due_at: AwareDatetime = Field(description="The new target, with its UTC offset.")
    reason: Text


class StopRecurrence(Request):
    kind: ClassVar[str] = "stop_recurrence"

    task: TaskRef = Field(description="The recurring task's id, or one of its occurrences.")
    reason: Text


class StartCase(Request):
    """What a case opens with; the workflow's start input."""

    kind: ClassVar[str] = "start"

    case_ref: Reference
    tenant_ref: Reference
    owner: Name
    provision_type: SharedProvisionType = Field(description="Snapshot taken when the case started.")
    type_version: int | None = Field(default=None, ge=1, description="Published version, if any.")
    opened_by: Name = Field(
        default="starter",
        description="Who opened it; with identities, left out or the identity's own id.",
    )
    history_budget: HistoryBudget = Field(
        default=HISTORY_BUDGET,
        description="Events a run of the case may reach before it continues as new.",
    )
    opened_from: Reference | None = Field(
        default=None, description="Of a follow-on case: the reference of the case it came from."
    )
    chain_ref: Reference | None = Field(
        default=None,
        description="Of a follow-on case: the first case's reference of its chain; by "
        "default `opened_from`.",
    )
    follow_on_retry: FollowOnRetry = Field(
        default=FOLLOW_ON_RETRY,
        description="Seconds before a failed attempt to open this case's follow-on is tried "
        "again; doubling each time, at most an hour.",
    )

    @field_serializer("provision_type", when_used="json")
    def _carried(self, provision_type: ProvisionType) -> dict[str, Any]:
        return carried_form(provision_type)

    @model_validator(mode="after")
    def _chain_needs_a_parent(self) -> StartCase:
        if self.chain_ref is not None and self.opened_from is None:
            raise ValueError("chain_ref names the first case of a chain: give opened_from too")
        return self


class ContinueCase(BaseModel):
    """What a case carries from one run into the next (Temporal's continue-as-new).

    The whole state, so nothing is lost or done twice: the plan, clocks, pauses, holds,
    escalations fired, the log not yet in the register and the request ids already
    handled; with how far the register has got and which escalations' notices were not
    yet confirmed sent, so the next run sends them again (the outbox sends each once).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str] = "continue"

    state: CaseState
    recorded_seq: int = Field(ge=0, description="The log is in the register up to here.")
    unconfirmed: list[Name] = Field(
        default_factory=list,
        max_length=1_000,
        description="Keys of escalations whose notices were still on their way.",
    )
    history_budget: HistoryBudget = HISTORY_BUDGET
    follow_on_retry: FollowOnRetry = FOLLOW_ON_RETRY


class RequestResult(BaseModel):
    """What an accepted request changed."""

    case_ref: str
    case_status: CaseStatus
    changes: list[LogEntry]


UPDATES: dict[str, type[Request]] = {
    cls.kind: cls
    for cls in (
        CompleteTask,
        AddTask,
        CancelTask,
        BypassTask,
        UndoCompletion,
        CloseCase,
        PauseCase,
        ResumeCase,
        HoldTask,
        ReleaseTask,
        ReviseTarget,
        StopRecurrence,
    )
}
"""Requests the caller waits on: the case accepts or refuses them (Temporal updates)."""

REPORT_TASK_COMPLETED = "report_task_completed"
SIGNALS: dict[str, type[Request]] = {REPORT_TASK_COMPLETED: CompleteTask}
"""Fire-and-forget requests (Temporal signals): a refusal is recorded in the case."""

Encoded = tuple[str, bytes]
"""One argument as it arrived: its encoding (`json/plain`) and its bytes."""


def read_request(
    kind: str,
    arguments: Sequence[Encoded],
    catalog: dict[str, type[Request]],
    *,
    lenient: bool = False,
) -> Request:
    """The one request of `kind` that `arguments` carry, or a refusal saying what is wrong.

    `lenient` reads it as histories recorded before strict requests did (see `read_legacy`).
    """
    model = catalog.get(kind)
    if model is None:
        known = ", ".join(sorted(catalog))
        raise UnknownRequest(f'"{excerpt(kind)}" is not a request a case takes; it takes {known}.')
    return read_one(model, arguments, REQUEST_BYTES, lenient=lenient)


def read_start(arguments: Sequence[Encoded], *, lenient: bool = False) -> StartCase | ContinueCase:
    """The start input of a run: a case opening, or a case carried on from its last run."""
    if len(arguments) == 1 and arguments[0][0] == JSON and _carries_state(arguments[0][1]):
        try:
            return ContinueCase.model_validate_json(_within(arguments[0][1], CONTINUE_BYTES))
        except ValidationError as error:
            raise InvalidRequest(describe(ContinueCase, error)) from None
    start = read_one(StartCase, arguments, START_BYTES, lenient=lenient)
    assert isinstance(start, StartCase)
    return start


def _carries_state(data: bytes) -> bool:
    # A continuation's JSON begins with its state: the model declares that field first.
    return _CONTINUATION.match(data) is not None


_CONTINUATION = re.compile(rb'\s*\{\s*"state"\s*:')


def _within(data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise RequestTooLarge(
            f"A case may carry at most {_size(limit)} into its next run; this is "
            f"{_size(len(data))}."
        )
    return data


def read_one(
    model: type[Request], arguments: Sequence[Encoded], limit: int, *, lenient: bool = False
) -> Request:
    if lenient:
        return read_legacy(model, arguments)
    if len(arguments) != 1:
        raise MalformedRequest(
            f"{model.kind} takes one argument, a JSON object of {_fields(model)}; "
            f"it got {len(arguments)}."
        )
    encoding, data = arguments[0]
    if len(data) > limit:
        raise RequestTooLarge(
            f"The {model.kind} request is {_size(len(data))}; a request may be at most "
            f"{_size(limit)}. Keep notes short and refer to documents held elsewhere."
        )
    if encoding == UNOPENED:  # marked sealed, but the worker's key ring could not open it
        raise MalformedRequest(
            f"{model.kind} was sent sealed but could not be opened, so it was not read: "
            f"{excerpt(data.decode('utf-8', 'replace'))}."
        )
    if encoding != JSON:
        raise MalformedRequest(
            f"{model.kind} takes JSON (encoding {JSON}), not {excerpt(encoding) or 'nothing'}."
        )
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        raise InvalidRequest(describe(model, error)) from None


def read_legacy(model: type[Request], arguments: Sequence[Encoded]) -> Request:
    """A request read as the workflow read it before requests were strict.

    Unknown fields were dropped and nothing was bounded. A case whose history holds such a
    request must replay it exactly as it ran, so histories without the strict-requests
    patch are read this way; new requests never are.
    """
    loose = _LEGACY.setdefault(model, _loosened(model))
    if len(arguments) != 1:
        raise MalformedRequest(f"{model.kind} takes one argument; it got {len(arguments)}.")
    try:
        found = loose.model_validate_json(arguments[0][1])
    except ValidationError as error:
        raise InvalidRequest(describe(model, error)) from None
    return model.model_construct(**dict(found))


_LEGACY: dict[type[Request], type[BaseModel]] = {}
_LOOSE_TYPES: dict[str, Any] = {
    "responses": dict[str, Any],
    "cascade": bool,
    "due_at": datetime,
    "provision_type": ProvisionType,
    "type_version": int | None,
}


def _loosened(model: type[Request]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        required = field.is_required()
        default = ... if required else field.get_default(call_default_factory=True)
        loose = _LOOSE_TYPES.get(name, str if required or default is not None else str | None)
        fields[name] = (loose, default)
    return create_model(f"Legacy{model.__name__}", __config__=ConfigDict(extra="ignore"), **fields)


def describe(model: type[BaseModel], error: ValidationError) -> str:
    """A refusal a person can act on: each problem with its field, never the input itself."""
    name = getattr(model, "kind", model.__name__)
    problems: list[str] = []
    answers_seen: set[str] = set()
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if len(loc) > 2 and loc[0] == "responses":
            # One line per response, not one per kind of response it failed to be: what
            # text would need, where it was text, else every kind it may be.
            if loc[1] not in answers_seen:
                answers_seen.add(str(loc[1]))
                problems.append(_response_problem(str(loc[1]), error, loc[1]))
            continue
        problem = _problem(model, detail)
        if problem not in problems:
            problems.append(problem)
    shown = "; ".join(problems[:PROBLEMS_SHOWN])
    more = len(problems) - PROBLEMS_SHOWN
    return f"The {name} request is not valid: {shown}" + (
        f"; and {more} more problem{'s' if more > 1 else ''}." if more > 0 else "."
    )


def _response_problem(label: str, error: ValidationError, key: Any) -> str:
    """Why the response to `label` was refused: text too long, or holding a control
    character, says so; anything else is not one of the kinds a response may be."""
    named = f'the response to "{excerpt(label)}"'
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if len(loc) < 3 or loc[0] != "responses" or loc[1] != key:
            continue
        branch = str(loc[2])
        if not branch.endswith("str]") or branch.startswith("list["):
            continue
        ctx = detail.get("ctx") or {}
        if detail["type"] == "string_too_long":
            return f"{named} is too long: at most {ctx.get('max_length')} characters"
        if detail["type"] == "value_error":
            return f"{named} {ctx.get('error')}"
    return f"{named} must be text, a number, true or false, a list of choices, or null"


def _problem(model: type[BaseModel], detail: Any) -> str:
    kind = detail["type"]
    where = ".".join(str(part) for part in detail["loc"])
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "json_invalid":
        return f"it is not valid JSON ({ctx.get('error', 'unreadable')})"
    if kind in ("model_type", "model_attributes_type") and not detail["loc"]:
        return f"it must be a JSON object of {_fields(model)}, not {_shape(value)}"
    if kind == "extra_forbidden":
        return f'"{excerpt(str(detail["loc"][-1]))}" is not a field; fields are {_fields(model)}'
    if kind == "missing":
        return f"{where} is required"
    if kind == "string_too_long":
        return f"{where} is {len(value):,} characters long; the limit is {ctx.get('max_length'):,}"
    if kind == "too_long":
        count = len(value) if isinstance(value, dict | list) else ctx.get("actual_length")
        return f"{where} has {count or 'too many'} items; the limit is {ctx.get('max_length')}"
    if kind == "string_too_short":
        return f"{where} must not be empty"
    if kind == "string_pattern_mismatch":
        if where in ("case_ref", "tenant_ref", "caseRef", "tenantRef"):
            return f"{where} may not contain spaces or control characters"
        if where in ("task", "clock"):
            return (
                f'{where} "{excerpt(str(value))}" is not a task key or id: lowercase letters, '
                "digits and hyphens, then #2, #3… for further instances"
            )
        return f'{where} "{excerpt(str(value))}" is not an id: lowercase letters, digits, hyphens'
    if kind == "timezone_aware":
        return f"{where} has no UTC offset; give one, e.g. 2026-12-01T17:00+00:00"
    if kind.startswith("datetime"):
        return f"{where} is not a date and time; write ISO 8601, e.g. 2026-12-01T17:00+00:00"
    if kind in _EXPECTED:
        return f"{where} must be {_EXPECTED[kind]}, not {_shape(value)}"
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{where or 'the request'}: {message}"


_EXPECTED = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "dict_type": "a JSON object",
    "list_type": "a list",
}


def _fields(model: type[BaseModel]) -> str:
    names = []
    # Who asked comes last, as people write requests.
    for name, field in sorted(model.model_fields.items(), key=lambda item: item[0] == "by"):
        alias = field.alias if field.alias and field.alias != name else None
        names.append(f"{name} ({alias})" if alias else name)
    return ", ".join(names)


def _shape(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


PLAIN_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
"""What a case or tenant reference a new case opens with may hold: letters A-Z, digits and
``. _ - /``, starting with a letter or digit (``TSA-2026-0042``, ``HMS/100234``)."""


def unplain_reference(start: StartCase) -> str | None:
    """Why the case or tenant reference of `start` is not a plain reference, or None.

    References are the case's name in Temporal: its workflow id, its search attributes,
    the UI's lists and links, where SPEC allows references and never personal data. So an
    e-mail address, a phone number with spaces, a name with an accent, a zero-width or
    right-to-left mark (which make two references look alike) are refused when a case
    opens, rather than shown to everyone who can read Temporal.
    """
    for label, value in (("case", start.case_ref), ("tenant", start.tenant_ref)):
        if PLAIN_REFERENCE.fullmatch(value) is None:
            return (
                f'The {label} reference "{excerpt(value)}" is not a plain reference: use '
                "letters A-Z, digits and . _ - / only, starting with a letter or digit. "
                "References show in Temporal's UI and search, so they carry no personal "
                "data such as an e-mail address."
            )
    return None


def excerpt(text: str) -> str:
    """A bounded, printable quote of what a caller sent, for a message about it."""
    text = "".join(c if c.isprintable() else "?" for c in text[: EXCERPT + 1])
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    return f"{count / 1024:.0f} KiB" if count >= 1024 else f"{count} bytes"
