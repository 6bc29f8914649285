"""What the workflow sends to the database activities, and their names.

The workflow imports this module and nothing else from `activities`, so it holds plain
pydantic types and constants only: no SQLAlchemy, no I/O.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from casemodel.case import Case
from casemodel.escalation import Firing, action_at
from casemodel.paths import PATH_TRIGGER, communication_step
from casemodel.state import CaseState, LogEntry, TaskInstance
from casemodel.worklist import figures, recorded_keys
from definitions.schema import Notify, ProvisionType

RECORD_CASE_CHANGES = "record_case_changes"
CASE_REF_TAKEN = "case_ref_taken"
"""The failure of a register write from a case whose reference another case holds: the
write is refused, and the case that sent it fails with this type (`RegisterUpdate.first_run_id`)."""
OWNER_REFUSED = "owner_refused"
"""The failure of a case's first register write when its owner is not an active person,
team or role of the directory (a start sent past `case start`, which checks it: the Python
client, the plain `temporal` CLI): nothing is written, and the case fails with this type,
as a start it refused does, so that nobody's escalations go to an owner who is not there."""
EVENTS_PER_UPDATE = 500
"""Log entries one register write carries at most."""
LOAD_PUBLISHED_DEFINITION = "load_published_definition"


class RegisterTask(TaskInstance):
    """A task instance, its place in the execution plan, and what a worklist shows of it
    as of the write (`casemodel.worklist.figures`)."""

    position: int = Field(description="Index in the execution plan, from 0.")
    warning_at: datetime | None = Field(default=None, description="Its clock's warning point.")
    due_at: datetime | None = Field(default=None, description="Its clock's target.")
    sla_state: str | None = Field(
        default=None, description="Its clock's state as of the write; none without a clock."
    )
    held: bool = Field(default=False, description="Held as of the write.")
    waits_for: str | None = Field(
        default=None, description="What a blocked task waits for, `; ` between each."
    )


class RegisterUpdate(BaseModel):
    """A case's changes since the last update, for the case register.

    Writing the same update twice, or an older one after a newer one, changes nothing:
    rows carry the log position (``last_seq``) they reflect and are only replaced by a
    newer one, and events are inserted once by ``(case_ref, seq)``.
    """

    case_ref: str
    workflow_id: str
    type_id: str
    type_version: int | None = Field(
        default=None, description="Published version the case runs on; none if unpublished."
    )
    category: str
    tenant_ref: str
    owner: str
    status: str
    priority: str = "normal"
    opened_at: datetime
    resolved_at: datetime | None = None
    outcome: str | None = None
    opened_from: str | None = Field(
        default=None, description="Of a follow-on case: the case it was opened from."
    )
    follow_on_ref: str | None = Field(
        default=None, description="The follow-on case this case opened, once it is open."
    )
    updated_at: datetime = Field(description="When the last logged change happened.")
    last_seq: int = Field(description="Seq of the last log entry this update reflects.")
    tasks: list[RegisterTask] = Field(
        default_factory=list,
        description="Tasks changed since the previous update, and those whose due points "
        "or waits moved with the changes.",
    )
    events: list[LogEntry] = Field(
        default_factory=list, description="Log entries after the previous update."
    )
    first_run_id: str | None = Field(
        default=None,
        description="The first run of the case's workflow (Temporal's first execution run "
        "id, which continuing as new and resets keep): which case of this reference sent "
        "it. A reference names one case: a workflow started again under a closed case's id "
        "by Temporal directly (an id reuse policy that allows it) is another case, and its "
        "writes are refused rather than mixed into the first one's. None from tests and "
        "from code before it.",
    )
    rebase_after: int | None = Field(
        default=None,
        description="Of the first write of a workflow run that was reset: the log position "
        "the run took over from the run reset away. What the register holds of the case "
        "after it is that run's, which did not happen in this one: its log entries and the "
        "tasks this update does not carry are dropped, and the case and its tasks are "
        "rewritten from here. Such an update carries every task the case holds.",
    )

    opening: bool = Field(
        default=False,
        description="Whether this is the case's first write, from its first run: the "
        "register takes it only if the owner is an active person, team or role of the "
        "directory (`OWNER_REFUSED`). False from code before it.",
    )

    @classmethod
    def since(
        cls,
        case: Case,
        workflow_id: str,
        seq: int,
        now: datetime,
        *,
        rebase: bool = False,
        first_run_id: str | None = None,
        opening: bool = False,
    ) -> RegisterUpdate | None:
        """What changed after log position `seq`, as of `now`; None when nothing did.
        `rebase`: as the first write of a reset run (`rebase_after`); `opening`: as the
        case's first write (`opening`)."""
        update = cls.from_case(
            case,
            workflow_id=workflow_id,
            type_version=case.state.type_version,
            now=now,
            since_seq=seq,
            priority=case.state.priority,
            all_tasks=rebase,
        )
        if update.last_seq == seq:
            return None
        if rebase:
            update.rebase_after = seq
        update.first_run_id = first_run_id
        update.opening = opening
        return update

    @classmethod
    def from_state(
        cls,
        state: CaseState,
        *,
        workflow_id: str,
        type_version: int | None,
        now: datetime | None = None,
        since_seq: int = 0,
        priority: str = "normal",
        limit: int = EVENTS_PER_UPDATE,
    ) -> RegisterUpdate:
        """`from_case` for a bare state, as of its latest change unless `now` is given."""
        latest = state.log[-1].at if state.log else state.opened_at
        return cls.from_case(
            Case(state),
            workflow_id=workflow_id,
            type_version=type_version,
            now=now or latest,
            since_seq=since_seq,
            priority=priority,
            limit=limit,
        )

    @classmethod
    def from_case(
        cls,
        case: Case,
        *,
        workflow_id: str,
        type_version: int | None,
        now: datetime,
        since_seq: int = 0,
        priority: str = "normal",
        limit: int = EVENTS_PER_UPDATE,
        all_tasks: bool = False,
    ) -> RegisterUpdate:
        """The changes of the case after log position ``since_seq`` (0: everything), with
        each task's due points as of ``now`` (and, `all_tasks`, every task it holds).

        Tasks are those the new log entries bear on (`casemodel.worklist.recorded_keys`):
        the case model logs every change to a task under its key, and a pause or resume
        of the whole case brings every task in progress; so a long case does not resend
        its whole plan on every change.
        """
        state = case.state
        # Newest last: walk back only as far as what is new, however long the log; and
        # send at most `limit` entries, so a register that was away for long catches up
        # in writes of a bounded size.
        start = len(state.log)
        while start and state.log[start - 1].seq > since_seq:
            start -= 1
        events = state.log[start : start + limit]
        changed = recorded_keys(case, events)
        last = events[-1] if events else (state.log[-1] if state.log else None)
        return cls(
            case_ref=state.case_ref,
            workflow_id=workflow_id,
            type_id=state.provision_type.id,
            type_version=type_version,
            category=state.provision_type.category.value,
            tenant_ref=state.tenant_ref,
            owner=state.owner,
            status=state.status.value,
            priority=priority,
            opened_at=state.opened_at,
            resolved_at=state.resolved_at,
            outcome=state.outcome,
            opened_from=state.opened_from,
            follow_on_ref=_opened_follow_on(state),
            updated_at=last.at if last else state.opened_at,
            last_seq=last.seq if last else state.last_seq,
            tasks=[
                _register_task(case, task, index, now)
                for index, task in enumerate(state.tasks)
                if all_tasks or task.key in changed
            ],
            events=events,
        )


def _register_task(case: Case, task: TaskInstance, index: int, now: datetime) -> RegisterTask:
    shown = figures(case, task, now)
    return RegisterTask(
        **task.model_dump(exclude={"position", "opens_at"}),
        position=index if task.position is None else task.position,
        opens_at=shown.opens_at,
        warning_at=shown.warning_at,
        due_at=shown.due_at,
        sla_state=shown.sla_state.value if shown.sla_state else None,
        held=shown.held,
        waits_for=shown.waits_for,
    )


def _opened_follow_on(state: CaseState) -> str | None:
    due = state.follow_on
    return due.case_ref if due is not None and not due.pending else None


class DefinitionRequest(BaseModel):
    """Ask for a published provision type: a given version, or the one in effect on a day."""

    type_id: str
    version: int | None = None
    on: date | None = Field(
        default=None,
        description="Without a version: the day whose version is wanted; by default today "
        "in the time zone of the type's calendar. A workflow should name the day (its own "
        "`workflow.now()`), so a retried activity answers the same.",
    )


class PublishedType(BaseModel):
    """A published version of a provision type."""

    type_id: str
    version: int
    definition: ProvisionType


# --- follow-on cases -------------------------------------------------------------------

OPEN_FOLLOW_ON = "open_follow_on"
FOLLOW_ON_REFERENCE_TAKEN = "follow_on_reference_taken"
"""The failure of an attempt to open a follow-on whose reference another case holds: the
case moves its follow-on to the next reference of its series (`casemodel.follow_on`)."""


class OpenFollowOn(BaseModel):
    """Open the follow-on case a case's outcome made due; safe to repeat: a case of that
    reference already opened from the same parent counts as opened."""

    parent_ref: str
    case_ref: str = Field(description="The follow-on's reference, derived from the parent's.")
    type_id: str
    tenant_ref: str
    owner: str = Field(description="The parent's owner, unless the type names its own.")
    chain_ref: str = Field(description="The first case's reference of the chain.")
    task_queue: str = Field(description="Where the follow-on runs: the parent's task queue.")
    history_budget: int
    follow_on_retry: int

    @classmethod
    def of(
        cls, case: Case, *, task_queue: str, history_budget: int, follow_on_retry: int
    ) -> OpenFollowOn:
        """The attempt to open the follow-on `case` says is due."""
        state, due = case.state, case.state.follow_on
        assert due is not None, "no follow-on is due"
        return cls(
            parent_ref=state.case_ref,
            case_ref=due.case_ref,
            type_id=due.type,
            tenant_ref=state.tenant_ref,
            owner=state.owner,
            chain_ref=case.case_chain or state.case_ref,
            task_queue=task_queue,
            history_budget=history_budget,
            follow_on_retry=follow_on_retry,
        )


class FollowOnOpened(BaseModel):
    """The follow-on case is open: this attempt opened it, or an earlier one had."""

    case_ref: str
    owner: str
    type_version: int | None
    existed: bool = Field(default=False, description="An earlier attempt had opened it.")


# --- escalations ----------------------------------------------------------------------

NOTIFY_ESCALATION = "notify_escalation"


class Recipients(BaseModel):
    """Who an escalation rule tells."""

    owner: bool = False
    owner_manager: bool = False
    groups: list[str] = Field(default_factory=list, description="Stakeholder group ids.")
    addresses: list[str] = Field(default_factory=list, description="Fixed email addresses.")


class SlaFigures(BaseModel):
    """The clock an escalation is about, as the template shows it."""

    clock: str = Field(description="`case` or the task key.")
    calendar: str
    target: str = Field(description="e.g. `10 working days`.")
    warning: str | None = None
    started_at: datetime
    warning_at: datetime | None = None
    due_at: datetime
    state: str = Field(description="on_track, warning, breached, paused, met, missed or cancelled.")


class EndedOutsideFacts(BaseModel):
    """How Temporal ended a case's workflow while the case was open (`starter.ended_outside`),
    as the notice that tells the case's owner shows it."""

    how: str = Field(description="terminated, cancelled, failed or timed out.")
    by: str = Field(default="", description="Who ended it, as Temporal recorded it.")
    reason: str = Field(default="", description="Why, as Temporal recorded it.")
    at: datetime
    open_tasks: list[str] = Field(
        default_factory=list, description="Names of the tasks it left in progress."
    )


class EscalationNotice(BaseModel):
    """One firing of one escalation rule, or one communication a path recorded (trigger
    `path`, rule `path:<path id>`): the activity notifies each recipient once.

    `key` identifies the firing (case, rule, clock, occurrence); with the recipient it is
    the idempotency key of every notification, so a retried or replayed activity never
    sends twice.
    """

    key: str
    case_ref: str
    workflow_id: str
    tenant_ref: str
    provision_type: str
    provision_type_name: str
    case_owner: str
    case_status: str
    priority: str
    rule: str = Field(
        description="Rule path, e.g. `assessment-breach/follow-on-1`, or `path:<path id>`."
    )
    trigger: str = Field(description="warning, breach or stagnation; `path` for a path's.")
    occurrence: int = 1
    fired_at: datetime
    task_key: str | None = None
    task_name: str | None = None
    owner: str = Field(description="Owner of what is escalated (task or case).")
    sla: SlaFigures | None = None
    template: str
    recipients: Recipients
    ended: EndedOutsideFacts | None = Field(
        default=None, description="Of the notice that a case was ended outside the service."
    )

    @classmethod
    def of(cls, case: Case, firing: Firing, workflow_id: str, now: datetime) -> EscalationNotice:
        """The notice of a firing the case recorded, with its clock as it stands `now`."""
        state = case.state
        task = next((t for t in state.tasks if t.key == firing.subject), None)
        notify: Notify | None
        if firing.trigger == PATH_TRIGGER:  # a path's communication step
            step = communication_step(case.definition(task), firing.rule) if task else None
            notify = step.notify if step is not None else None
        else:
            rules = case.type.escalations if task is None else case.definition(task).escalations
            action = action_at(rules, firing.rule)
            notify = action.notify if action is not None else None
        clock = next((c for c in case.clocks(now) if c.subject == firing.subject), None)
        return cls(
            key=firing.key,
            case_ref=state.case_ref,
            workflow_id=workflow_id,
            tenant_ref=state.tenant_ref,
            provision_type=case.type.id,
            provision_type_name=case.type.name,
            case_owner=state.owner,
            case_status=state.status.value,
            priority=state.priority,
            rule=firing.rule,
            trigger=firing.trigger,
            occurrence=firing.occurrence,
            fired_at=firing.fired_at,
            task_key=task.key if task else None,
            task_name=task.name if task else None,
            owner=task.owner if task else state.owner,
            sla=SlaFigures(
                clock=clock.subject,
                calendar=clock.calendar,
                target=str(clock.target),
                warning=str(clock.warning) if clock.warning else None,
                started_at=clock.started_at,
                warning_at=clock.warning_at,
                due_at=clock.due_at,
                state=clock.state.value,
            )
            if clock
            else None,
            template=firing.template,
            recipients=Recipients(
                owner=notify.owner,
                owner_manager=notify.owner_manager,
                groups=list(notify.groups),
                addresses=list(notify.addresses),
            )
            if notify
            else Recipients(owner=True),
        )


class NotificationResult(BaseModel):
    recorded: int = Field(description="Notifications newly written to the outbox.")
    sent: int = Field(description="Notifications sent by mail in this attempt.")
    recipients: list[str] = Field(default_factory=list)
