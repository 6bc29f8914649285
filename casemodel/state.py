"""The state of one case: its execution plan, its log and what it was refused.

One serialisable structure holds everything, so the workflow can query it, pass it to
continue-as-new whole, and project it into the case register. Fields are only ever added,
with defaults, so that state written by an older version still loads.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_serializer

from definitions.schema import ProvisionType
from definitions.snapshot import carried_form

from .escalation import Firing
from .responses import ResponseValue
from .sla import Interval, RevisedTarget
from .snapshots import SharedProvisionType

MAX_IN_PROGRESS = 200
"""Tasks a plan may hold in progress at once: more is a runaway integration (or a series
of occurrences nobody works), not a plan."""


class TaskStatus(StrEnum):
    blocked = "blocked"
    open = "open"
    completed = "completed"
    bypassed = "bypassed"
    cancelled = "cancelled"


ACTIVE = frozenset({TaskStatus.blocked, TaskStatus.open})
DONE = frozenset({TaskStatus.completed, TaskStatus.bypassed})


class CaseStatus(StrEnum):
    open = "open"
    completed = "completed"
    closed = "closed"


class TaskInstance(BaseModel):
    """One task of the execution plan."""

    key: str = Field(description="Stable, readable key: `home-visit`, `home-visit#2`.")
    task: str = Field(description="Id of the task definition.")
    name: str
    status: TaskStatus
    owner: str
    mandatory: bool
    added_by: str = Field(description="Who or what added it: `case-opened`, a person, a path.")
    added_at: datetime
    added_by_task: str | None = Field(
        default=None, description="Key of the task whose outcome added this one."
    )
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    responses: dict[str, ResponseValue] = Field(default_factory=dict)
    note: str | None = None
    holds: list[Interval] = Field(default_factory=list, description="Times the task was held.")
    position: int | None = Field(
        default=None, description="Place in the execution plan, from 0; kept when older go."
    )
    last_activity_at: datetime | None = Field(
        default=None, description="When a person or system last did something to it."
    )
    changed_seq: int = Field(default=0, description="Log position of its latest change.")
    occurrence: int | None = Field(
        default=None, description="Of a recurring task: its place in the series, from 1."
    )
    opens_at: datetime | None = Field(
        default=None,
        description="Of an occurrence of a recurring task: when it falls due and opens.",
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class Series(BaseModel):
    """A recurring task's series: when its next occurrence falls due, and how it ended.

    Occurrences are task instances; the series is what is left to come. A case carries it
    whole into its next run, so an occurrence is never opened twice nor missed.
    """

    task: str = Field(description="Id of the recurring task definition.")
    first_at: datetime = Field(description="When the first occurrence fell due.")
    occurrences: int = Field(default=0, description="Occurrences added to the plan so far.")
    next_at: datetime | None = Field(
        default=None, description="When the next occurrence falls due, if one is known yet."
    )
    last_done_at: datetime | None = Field(
        default=None,
        description="When the latest occurrence was done: a `completion` "
        "cadence counts the next from here.",
    )
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = Field(
        default=None,
        description="Why the series ended: `times`, `for`, `outcome`, `stopped`, "
        "`cancelled`, or the case's end.",
    )

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def end(self, now: datetime, by: str, reason: str) -> None:
        """No occurrence comes after this: ended at `now` by `by`, for `reason`."""
        self.ended_at, self.ended_by, self.end_reason = now, by, reason
        self.next_at = None


class Earlier(BaseModel):
    """Resolved instances of one task definition the state no longer holds one by one.

    A case that lives for years resolves thousands of tasks; once the register holds
    them, the state keeps only what the rules still ask of them: how many there were and
    how they ended, and when the latest was done (for a lag after it).
    """

    instances: int = 0
    completed: int = 0
    bypassed: int = 0
    cancelled: int = 0
    last_done_at: datetime | None = None

    @property
    def done(self) -> int:
        return self.completed + self.bypassed


class CaseOutcomeHint(BaseModel):
    """The latest case outcome a task outcome named, among tasks no longer held."""

    at: datetime
    outcome: str


class LogEntry(BaseModel):
    """Something that happened to the case: the append-only event log."""

    seq: int = Field(description="Position in the log, from 1; unique within the case.")
    at: datetime
    kind: str = Field(description="e.g. `task_completed`, `case_closed`.")
    by: str
    task_key: str | None = None
    detail: str = ""


class RejectedRequest(BaseModel):
    """A fire-and-forget request the rules refused: kept so that nothing is lost."""

    at: datetime
    request: str
    request_id: str | None = None
    task: str | None = None
    by: str
    reason: str
    code: str = Field(default="refused", description="The refusal's stable code.")


class FollowOnStatus(StrEnum):
    pending = "pending"
    """Due, and not opened yet: the workflow tries (again) at `next_attempt_at`."""
    opened = "opened"
    failed = "failed"
    """The latest attempt failed (`reason`); the workflow tries again at `next_attempt_at`."""


class FollowOn(BaseModel):
    """The case a case's outcome opens, and how far opening it has got.

    The case keeps it from the moment it completes or is closed with an outcome naming a
    `follow_on_type` until the follow-on is opened, and carries it into its next run, so
    a follow-on is never opened twice nor dropped.
    """

    type: str = Field(description="Id of the provision type the follow-on case is of.")
    case_ref: str = Field(description="Reference of the follow-on case (`follow_on_ref`).")
    owner: str = Field(
        description="Owner of the follow-on case: the parent's until it opens, then the one "
        "it opened with (its type's `follow_on_owner`, when the type names one)."
    )
    due_at: datetime = Field(description="When the parent's outcome made it due.")
    status: FollowOnStatus = FollowOnStatus.pending
    attempts: int = Field(default=0, description="Attempts that failed so far.")
    reason: str | None = Field(default=None, description="Why the latest attempt failed.")
    failed_at: datetime | None = None
    next_attempt_at: datetime | None = Field(
        default=None, description="When the next attempt goes; none: at once."
    )
    opened_at: datetime | None = None
    type_version: int | None = Field(
        default=None, description="The published version the follow-on case opened on."
    )
    alternative: int = Field(
        default=1,
        description="Which reference of its series `case_ref` is: 1 the first, 2 and on "
        "after the ones before were found held by other cases (`follow_on_ref`).",
    )

    @property
    def pending(self) -> bool:
        """Not opened yet: the workflow keeps trying."""
        return self.status is not FollowOnStatus.opened

    def describe(self) -> str:
        """`TSA-1-FISP (financial-inclusion-support-plan)`, as `case show` names it."""
        return f"{self.case_ref} ({self.type})"


class CaseState(BaseModel):
    case_ref: str
    tenant_ref: str
    owner: str
    provision_type: SharedProvisionType = Field(
        description="The type the case opened with, as it carries it (`carried_form`)."
    )
    type_version: int | None = Field(
        default=None, description="Published version of the type the case runs on."
    )
    status: CaseStatus = CaseStatus.open
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None = None
    outcome: str | None = None
    close_reason: str | None = None
    follow_on_type: str | None = None
    priority: str = "normal"
    pauses: list[Interval] = Field(default_factory=list, description="Times the case was paused.")
    firings: list[Firing] = Field(default_factory=list, description="Escalations that fired.")
    communications: list[Firing] = Field(
        default_factory=list,
        description="Communications the paths of completed tasks recorded (trigger `path`), "
        "of the tasks the case still holds.",
    )
    outgoing: list[str] = Field(
        default_factory=list,
        description="Keys of communications recorded but not yet handed to the workflow.",
    )
    revisions: dict[str, RevisedTarget] = Field(
        default_factory=dict, description="Targets revised by hand, by clock (`case` or key)."
    )
    tasks: list[TaskInstance] = Field(default_factory=list)
    log: list[LogEntry] = Field(default_factory=list)
    rejected: list[RejectedRequest] = Field(
        default_factory=list, description="The latest fire-and-forget requests refused."
    )
    rejected_total: int = Field(default=0, description="Every request ever refused.")
    handled_requests: list[str] = Field(
        default_factory=list,
        description="Ids of fire-and-forget requests already applied, the latest 10,000.",
    )
    used_tokens: dict[str, int] = Field(
        default_factory=dict,
        description="Identity tokens the case took, by id (`jti`), with when each expires "
        "(seconds since 1970): a token is taken once, and forgotten once it has expired.",
    )
    last_seq: int = Field(default=0, description="Position of the latest log entry.")
    last_activity_at: datetime | None = Field(
        default=None, description="When a person or system last did something to the case."
    )
    tasks_added: int = Field(default=0, description="Task instances ever added to the plan.")
    earlier: dict[str, Earlier] = Field(
        default_factory=dict,
        description="Resolved task instances no longer held one by one, by definition id.",
    )
    undo_blocked: list[str] = Field(
        default_factory=list,
        description="Completed tasks whose outcome added a task that is done and no longer held.",
    )
    case_outcome_hint: CaseOutcomeHint | None = None
    series: dict[str, Series] = Field(
        default_factory=dict, description="Recurring tasks' series, by task definition id."
    )
    follow_on: FollowOn | None = Field(
        default=None,
        description="The case this case's outcome opens, and how far opening it has got.",
    )
    opened_from: str | None = Field(
        default=None, description="Of a follow-on case: the reference of the case it came from."
    )
    chain_ref: str | None = Field(
        default=None,
        description="Of a follow-on case: the first case's reference of its chain (the "
        "`CaseChain` search attribute).",
    )

    @field_serializer("provision_type", when_used="json")
    def _carried(self, provision_type: ProvisionType) -> dict[str, Any]:
        return carried_form(provision_type)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    def open_task_count(self) -> int:
        return sum(1 for t in self.tasks if t.status is TaskStatus.open)


class CaseSummary(BaseModel):
    """The result of a case workflow: how it ended and what was done."""

    case_ref: str
    tenant_ref: str
    provision_type: str
    status: CaseStatus
    outcome: str | None
    follow_on_type: str | None
    opened_at: datetime
    resolved_at: datetime | None
    tasks_completed: int
    tasks_bypassed: int
    tasks_cancelled: int

    @classmethod
    def of(cls, state: CaseState) -> CaseSummary:
        def count(status: TaskStatus) -> int:
            held = sum(1 for t in state.tasks if t.status is status)
            return held + sum(getattr(e, status.value) for e in state.earlier.values())

        return cls(
            case_ref=state.case_ref,
            tenant_ref=state.tenant_ref,
            provision_type=state.provision_type.id,
            status=state.status,
            outcome=state.outcome,
            follow_on_type=state.follow_on_type,
            opened_at=state.opened_at,
            resolved_at=state.resolved_at,
            tasks_completed=count(TaskStatus.completed),
            tasks_bypassed=count(TaskStatus.bypassed),
            tasks_cancelled=count(TaskStatus.cancelled),
        )
