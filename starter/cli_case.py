"""`support-provision case …`: start, inspect and progress cases from a terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from activities.database import notifications as outbox
from activities.database import register
from activities.database.directory import owner_refusal
from casemodel.calendars import calendar_for
from casemodel.case import Case
from casemodel.errors import CaseNotStarted
from casemodel.requests import (
    AddTask,
    BypassTask,
    CancelTask,
    CloseCase,
    CompleteTask,
    HoldTask,
    PauseCase,
    ReleaseTask,
    Request,
    RequestResult,
    ResumeCase,
    ReviseTarget,
    StopRecurrence,
    UndoCompletion,
    describe,
)
from casemodel.state import CaseState, CaseStatus, LogEntry, TaskStatus
from casemodel.views import follow_on_lines
from definitions.schema import ProvisionType, Recurrence
from workflows.names import workflow_id_for

from .cli_case_record import (
    FROM_REGISTER,
    WITHOUT_WORKER,
    log_table,
    recorded_case,
    show_recorded,
)
from .cli_db import RegisterAway, existing_url, explain, with_session
from .client import (
    NO_WORKER,
    CaseClient,
    CaseListing,
    CaseNotFound,
    CaseRefused,
    DuplicateCase,
)
from .console import (
    LimitOption,
    bad_usage,
    bad_value,
    console,
    cut_by_limit,
    fail,
    print_json,
    require_choice,
    run,
)
from .identities import IdentityUnavailable, signer_from_env
from .published import published_in_effect
from .settings import Settings

app = typer.Typer(help="Start, inspect and progress support provision cases.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
LOG_POSITIONS = 2**31 - 1
"""The last log position a case may have (the register's integer column): `--log-from`
and `--log-limit` past it are usage errors, not database errors."""


async def _client(*, signed: bool = False) -> CaseClient:
    """A client on the environment's Temporal; `signed`, signing as who is at the keyboard
    (`starter.identities`: the login mapped to a person of the directory, or
    `$SUPPORT_PROVISION_SERVICE`). Reading a case needs no identity; Temporal is reached
    first, so a service that is down is the one line a person sees."""
    settings = Settings.from_env()
    cases = await CaseClient.connect(settings, quiet=True)
    if not signed:
        return cases
    signer = await signer_from_env(settings.data_dir)
    return CaseClient(cases.client, settings, identity=signer)


def _call(action: Any, *, signed: bool = False) -> Any:
    """Run a client coroutine factory, turning every refusal into one line on stderr."""

    async def go() -> Any:
        cases = await _client(signed=signed)
        return await action(cases)

    try:
        return run(go())
    except (CaseRefused, IdentityUnavailable) as refusal:
        fail(refusal.message)


def _live_state(case_ref: str) -> CaseState | tuple[str, register.CaseRow]:
    """The case's state, asked of its workflow; else the case register's row of it, with
    why the register is read instead (`cli_case_record`): Temporal has no such case (never
    started, or its history deleted after the retention period; a start refused under that
    reference since), or no worker answered for it. Any other refusal, or no row, ends in
    its one line, as `_call`'s."""

    async def go() -> CaseState:
        cases = await _client()
        return await cases.state(case_ref)

    refusal: CaseRefused
    try:
        return run(go())
    except CaseNotFound as missing:
        why, refusal = FROM_REGISTER, missing
    except CaseRefused as refused:
        if refused.code == CaseNotStarted.code:  # a start refused under a case gone from Temporal
            why, refusal = FROM_REGISTER, refused
        elif refused.code == NO_WORKER:
            why, refusal = f"{refused.message.split(';')[0]}: {WITHOUT_WORKER}", refused
        else:
            fail(refused.message)
    except IdentityUnavailable as unavailable:
        fail(unavailable.message)
    record = recorded_case(case_ref)
    if record is None:
        fail(refusal.message)
    return why, record


def _send(case_ref: str, model: type[Request], json_out: bool, **fields: Any) -> None:
    """Build one request (refused here if malformed), send it, report what changed."""
    try:
        request = model(**fields)
    except ValidationError as error:
        fail(describe(model, error))
    result = _call(lambda cases: cases.send(case_ref, request), signed=True)
    _report(result, json_out)


@app.command()
def start(
    provision_type: Annotated[str, typer.Argument(metavar="TYPE", help="Provision type id.")],
    tenant: Annotated[
        str, typer.Option("--tenant", metavar="REF", help="Tenant reference, e.g. TEN-00042.")
    ],
    case_ref: Annotated[
        str | None,
        typer.Option("--case-ref", metavar="REF", help="Case reference (generated if omitted)."),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            metavar="OWNER",
            help="Person, team or role of the directory who owns the case (default: the type's).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Open a case of TYPE for a tenant, on the published version of TYPE in effect today."""
    url = existing_url()
    try:
        version, chosen = run(published_in_effect(url, provision_type))
    except CaseRefused as refusal:
        fail(refusal.message)
    except (SQLAlchemyError, OSError) as error:
        fail(f"could not read the published definitions: {explain(error)}")
    if owner is not None:
        unknown = with_session(
            lambda session: owner_refusal(session, owner), what="read the directory", url=url
        )
        if unknown is not None:
            fail(f"{unknown}; `support-provision directory list` shows who can own a case.")
    if case_ref is not None and recorded_case(case_ref.strip()) is not None:
        # Temporal may no longer hold it (its history deleted after the retention period):
        # the register does, and a reference names one case for good.
        fail(DuplicateCase(case_ref.strip()).message)
    started = _call(
        lambda cases: cases.start_case(
            chosen,
            tenant_ref=tenant,
            case_ref=case_ref,
            owner=owner,
            type_version=version,
        ),
        signed=True,
    )
    if json_out:
        print_json(
            {
                "case_ref": started.case_ref,
                "workflow_id": started.workflow_id,
                "run_id": started.run_id,
                "type": chosen.id,
                "type_version": version,
                "tenant_ref": tenant,
                "url": started.url,
                "opened": started.opened,
            }
        )
        return
    console.print(
        f"Started case [bold]{started.case_ref}[/] ({chosen.name} v{version}) for tenant {tenant}"
    )
    if started.opened is False:
        console.print(
            "  No worker has opened it yet; it opens when one runs (`support-provision worker`)."
        )
    console.print(f"  Temporal UI: {started.url}")


LOG_PAGE = 1_000
"""Log entries read from the register at a time."""


@app.command()
def show(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    log_from: Annotated[
        int,
        typer.Option(
            "--log-from",
            metavar="SEQ",
            min=1,
            max=LOG_POSITIONS,
            help="Log entries from this one on.",
        ),
    ] = 1,
    log_limit: Annotated[
        int | None,
        typer.Option(
            "--log-limit",
            metavar="N",
            min=0,
            max=LOG_POSITIONS,
            help="At most N log entries (default all).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Show a case: its tasks, what each waits for, and its whole log (from the register)."""
    state = _live_state(case_ref)
    if isinstance(state, tuple):  # the register's: for good, or while no worker runs
        why, record = state
        show_recorded(record, after_seq=log_from - 1, limit=log_limit, json_out=json_out, why=why)
        return
    log = full_log(state, after_seq=log_from - 1, limit=log_limit)
    view = case_view(state, Settings.from_env(), log=log)
    if (ended := ended_outside(state.case_ref)) is not None:
        # The workflow, replayed to answer, still says open: the register knows better.
        view["status"], view["ended_outside"] = register.ENDED_OUTSIDE, ended
    delivered = notice_deliveries(state.case_ref)
    if delivered is not None:
        for notice in (*view["escalations"], *view["communications"]):
            notice["delivery"] = _delivery_json(delivered.get(notice["key"], outbox.Delivery()))
    if json_out:
        print_json(view)
        return
    console.print(
        f"[bold]{view['case_ref']}[/] · {state.provision_type.name}"
        + (f" v{state.type_version}" if state.type_version is not None else "")
        + f" · tenant {view['tenant_ref']}"
        f" · owner {view['owner']} · [bold]{view['status']}[/]"
        + (f" · outcome {view['outcome']}" if view["outcome"] else "")
        + f" · priority {view['priority']} · SLA {view['sla_state']}"
        + (" · [yellow]paused[/]" if view["paused"] else "")
    )
    if ended is not None:
        console.print(f"[red]Ended outside the service.[/] {ended}", highlight=False)
    for line in follow_on_lines(state):
        if line:
            console.print(line, markup=False, highlight=False)
    table = Table("Task", "Name", "Status", "Owner", "Waits for / outcome")
    for task in view["tasks"]:
        extra = (
            ", ".join(task["waits_for"]) if task["status"] == "blocked" else (task["outcome"] or "")
        )
        table.add_row(task["key"], task["name"], task["status"], task["owner"], extra)
    console.print(table)
    if view["series"]:
        series = Table(
            "Task", "Every", "Occurrences", "Next due", "Ended", title="Series (times in UTC)"
        )
        for s in view["series"]:
            count = str(s["occurrences"]) + (f" of {s['of']}" if s["of"] else "")
            ended = f"{_short(s['ended_at'])} ({s['end_reason']})" if s["ended_at"] else ""
            series.add_row(s["task"], s["every"] or "", count, _short(s["next_at"]), ended)
        console.print(series)
    if view["clocks"]:
        clocks = Table(
            "Clock",
            "Target",
            "Started",
            "Warning at",
            "Due at",
            "State",
            title="SLA (times in UTC)",
        )
        for c in view["clocks"]:
            clocks.add_row(
                c["clock"],
                c["target"] + (" (revised)" if c["revised"] else ""),
                _short(c["started_at"]),
                _short(c["warning_at"]),
                _short(c["due_at"]),
                c["state"],
            )
        console.print(clocks)
    if view["escalations"]:
        fired = Table(
            "When (UTC)", "Clock", "Rule", "Trigger", "#", "Template", "Told", title="Escalations"
        )
        for f in view["escalations"]:
            fired.add_row(
                _short(f["fired_at"]),
                f["subject"],
                f["rule"],
                f["trigger"],
                str(f["occurrence"]),
                f["template"],
                _told(delivered, f),
            )
        console.print(fired)
    if view["communications"]:
        sent = Table("When (UTC)", "Task", "Path", "Template", "Told", title="Communications")
        for c in view["communications"]:
            sent.add_row(
                _short(c["fired_at"]),
                c["subject"],
                c["rule"].removeprefix("path:"),
                c["template"],
                _told(delivered, c),
            )
        console.print(sent)
    for line in _not_told(delivered, view):
        console.print(line, style="red", markup=False, highlight=False)
    console.print(log_table(log))
    for rejected in state.rejected:
        task = f" {rejected.task}" if rejected.task else ""
        console.print(
            f"[red]Rejected[/] {rejected.request}{task} from {rejected.by} "
            f"({rejected.code}): {rejected.reason}"
        )
    if state.rejected_total > len(state.rejected):
        console.print(
            f"{state.rejected_total} requests rejected in all; the case log lists every one."
        )
    console.print(f"Temporal UI: {view['url']}")


def ended_outside(case_ref: str) -> str | None:
    """How the case's workflow was ended outside the service, if the register says it was
    (`starter.ended_outside`); None if not, or if the register cannot be read."""
    found: list[str] = []

    async def read(session: AsyncSession) -> None:
        row = await register.get_case(session, case_ref)
        if row is not None and row.status == register.ENDED_OUTSIDE:
            marked = await register.case_events(
                session, case_ref, after_seq=row.last_seq - 1, limit=1
            )
            found.append(marked[0].detail if marked else "Temporal ended the case's workflow.")

    try:
        with_session(read, what="read the case register", quiet=True, read_only=True)
    except RegisterAway:
        return None
    return found[0] if found else None


def notice_deliveries(case_ref: str) -> dict[str, outbox.Delivery] | None:
    """What became of each of the case's notices, from the outbox; None if it cannot be
    read (the case is shown without)."""

    async def read(session: AsyncSession) -> dict[str, outbox.Delivery]:
        return await outbox.deliveries(session, case_ref)

    try:
        return with_session(read, what="read the outbox", quiet=True, read_only=True)
    except RegisterAway:
        return None


def _delivery_json(delivery: outbox.Delivery) -> dict[str, Any]:
    return {
        "told": delivery.told,
        "waiting": delivery.waiting,
        "failed": [{"recipient": who, "reason": why} for who, why in delivery.failed],
    }


def _told(delivered: dict[str, outbox.Delivery] | None, notice: dict[str, Any]) -> str:
    if delivered is None:
        return ""
    return delivered.get(notice["key"], outbox.Delivery()).summary()


def _not_told(delivered: dict[str, outbox.Delivery] | None, view: dict[str, Any]) -> list[str]:
    """A line for each notice that did not reach someone it was for: an escalation that
    told nobody must not read as one that was sent."""
    if delivered is None:
        return []
    lines = []
    for notice in (*view["escalations"], *view["communications"]):
        found = delivered.get(notice["key"])
        for who, why in found.failed if found else ():
            what = notice["rule"].removeprefix("path:")
            lines.append(f"Not told: {who or 'nobody'} ({what} of {notice['subject']}): {why}")
    if lines:
        lines.append(
            f"The outbox has each one: support-provision notifications list --case "
            f"{view['case_ref']} --status failed"
        )
    return lines


def full_log(state: CaseState, *, after_seq: int = 0, limit: int | None = None) -> list[LogEntry]:
    """The case's log from the register, a page at a time, with the latest entries the
    case has not written there yet; only what the case keeps if the register is away."""
    found: list[LogEntry] = []

    async def read(session: AsyncSession) -> None:
        last = after_seq
        while limit is None or len(found) < limit:
            page = await register.case_events(
                session, state.case_ref, after_seq=last, limit=LOG_PAGE
            )
            found.extend(LogEntry.model_validate(row, from_attributes=True) for row in page)
            if len(page) < LOG_PAGE:
                return
            last = page[-1].seq

    try:
        with_session(read, what="read the case log", quiet=True, read_only=True)
    except RegisterAway as away:
        typer.echo(
            f"The case register could not be read ({away}); showing the latest log "
            "entries the case keeps.",
            err=True,
        )
        found = []
    last_seq = found[-1].seq if found else after_seq
    found.extend(e for e in state.log if e.seq > last_seq)
    return found[:limit] if limit is not None else found


def _short(instant: str | None) -> str:
    """An instant of the view, to the minute, in UTC as the case log is: a revised target
    keeps the offset it was given in (`+01:00`), and shown as written beside points worked
    out in UTC it read an hour out."""
    if not instant:
        return ""
    moment = datetime.fromisoformat(instant)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def case_view(
    state: CaseState, settings: Settings, log: list[LogEntry] | None = None
) -> dict[str, Any]:
    """The stable JSON shape of `case show --json`; other systems parse it."""
    case = Case(state)
    t = state.provision_type
    tasks = []
    for task in state.tasks:
        definition = t.task(task.task)
        tasks.append(
            {
                "key": task.key,
                "task": task.task,
                "name": task.name,
                "status": task.status.value,
                "owner": task.owner,
                "mandatory": task.mandatory,
                "outcomes": [o.id for o in definition.outcomes] if definition else [],
                "waits_for": case.waiting_for(task) if task.status is TaskStatus.blocked else [],
                "outcome": task.outcome,
                "responses": task.responses,
                "note": task.note,
                "added_by": task.added_by,
                "opened_at": task.opened_at.isoformat() if task.opened_at else None,
                "resolved_at": task.resolved_at.isoformat() if task.resolved_at else None,
                "occurrence": task.occurrence,
                "opens_at": task.opens_at.isoformat() if task.opens_at else None,
            }
        )
    series = [
        {
            "task": s.task,
            "every": recurrence.every if (recurrence := _recurrence(t, s.task)) else None,
            "occurrences": s.occurrences,
            "of": recurrence.times if recurrence else None,
            "first_at": s.first_at.isoformat(),
            "next_at": s.next_at.isoformat() if s.next_at else None,
            "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            "ended_by": s.ended_by,
            "end_reason": s.end_reason,
        }
        for s in state.series.values()
    ]
    now = datetime.now(UTC)
    clocks = [
        {
            "clock": c.subject,
            "name": c.name,
            "calendar": c.calendar,
            "target": str(c.target),
            "warning": str(c.warning) if c.warning else None,
            "started_at": c.started_at.isoformat(),
            "warning_at": c.warning_at.isoformat() if c.warning_at else None,
            "due_at": c.due_at.isoformat(),
            "stopped_at": c.stopped_at.isoformat() if c.stopped_at else None,
            "state": c.state.value,
            "revised": c.revised,
        }
        for c in case.clocks(now)
    ]
    return {
        "case_ref": state.case_ref,
        "workflow_id": workflow_id_for(state.case_ref),
        "priority": state.priority,
        "sla_state": case.sla_state(now).value,
        "paused": state.paused,
        "clocks": clocks,
        "escalations": [f.model_dump(mode="json") for f in state.firings],
        "communications": [c.model_dump(mode="json") for c in state.communications],
        "type": t.id,
        "type_name": t.name,
        "type_version": state.type_version,
        "category": t.category.value,
        "tenant_ref": state.tenant_ref,
        "owner": state.owner,
        "status": state.status.value,
        "outcome": state.outcome,
        "follow_on_type": state.follow_on_type,
        "opened_from": state.opened_from,
        "case_chain": case.case_chain,
        "follow_on": _follow_on_view(state),
        "opened_at": state.opened_at.isoformat(),
        "resolved_at": state.resolved_at.isoformat() if state.resolved_at else None,
        "tasks": tasks,
        "series": series,
        "log": [e.model_dump(mode="json") for e in (state.log if log is None else log)],
        "rejected": [r.model_dump(mode="json") for r in state.rejected],
        "url": settings.case_url(workflow_id_for(state.case_ref)),
    }


def _follow_on_view(state: CaseState) -> dict[str, Any] | None:
    due = state.follow_on
    if due is None:
        return None
    return {
        "case_ref": due.case_ref,
        "type": due.type,
        "status": due.status.value,
        "owner": due.owner,
        "type_version": due.type_version,
        "attempts": due.attempts,
        "reason": due.reason,
        "next_attempt_at": due.next_attempt_at.isoformat() if due.next_attempt_at else None,
        "opened_at": due.opened_at.isoformat() if due.opened_at else None,
    }


@app.command("list")
def list_cases(
    provision_type: Annotated[
        str | None, typer.Option("--type", metavar="TYPE", help="Only cases of this type.")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="OWNER", help="Only cases this owner owns.")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", metavar="REF", help="Only this tenant's cases.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only cases open, completed, closed or ended_outside (Temporal ended the "
            "case's workflow: the worker marks it so).",
        ),
    ] = None,
    opened_from: Annotated[
        str | None,
        typer.Option(
            "--opened-from", metavar="CASE", help="Only the follow-on cases this case opened."
        ),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain",
            metavar="CASE",
            help="With --temporal: every case of the chain that began with CASE (CaseChain).",
        ),
    ] = None,
    limit: LimitOption = 100,
    temporal: Annotated[
        bool,
        typer.Option("--temporal", help="Ask Temporal's visibility store, not the register."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """List cases, newest first, from the case register (or Temporal with --temporal)."""
    statuses = [*(s.value for s in CaseStatus), register.ENDED_OUTSIDE]
    require_choice(status, statuses, option="--status", what="case status")
    if temporal and status == register.ENDED_OUTSIDE:
        bad_usage("--status ended_outside reads the case register; leave out --temporal.")
    if temporal and opened_from is not None:
        bad_usage("--opened-from reads the case register; leave out --temporal (or use --chain).")
    if chain is not None and not temporal:
        bad_usage(
            "--chain asks Temporal's visibility store; add --temporal (or use --opened-from)."
        )
    if temporal:
        found: list[CaseListing] = _call(
            lambda cases: cases.list_cases(
                provision_type=provision_type,
                owner=owner,
                tenant_ref=tenant,
                status=status,
                chain=chain,
                limit=limit + 1,  # one more than shown: whether the limit cut the list
            )
        )
        rows: list[dict[str, Any]] = [
            {
                "case_ref": c.case_ref,
                "workflow_id": c.workflow_id,
                "type": c.provision_type,
                "category": c.category,
                "owner": c.owner,
                "tenant_ref": c.tenant_ref,
                "status": c.status or c.workflow_status,
                "open_tasks": c.open_tasks,
                "case_chain": c.case_chain,
                "opened_at": c.started_at.isoformat() if c.started_at else None,
            }
            for c in found
        ]
    else:
        records = with_session(
            lambda session: register.list_cases(
                session,
                type_id=provision_type,
                owner=owner,
                tenant_ref=tenant,
                status=status,
                opened_from=opened_from,
                limit=limit + 1,
            ),
            what="list cases",
            read_only=True,
        )
        rows = [
            {
                "case_ref": r.case_ref,
                "workflow_id": r.workflow_id,
                "type": r.type_id,
                "type_version": r.type_version,
                "category": r.category,
                "owner": r.owner,
                "tenant_ref": r.tenant_ref,
                "status": r.status,
                "outcome": r.outcome,
                "opened_from": r.opened_from,
                "follow_on_ref": r.follow_on_ref,
                "opened_at": r.opened_at.isoformat(),
                "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
            }
            for r in records
        ]
    found_rows = len(rows)
    rows = rows[:limit]
    if json_out:
        print_json(rows)
        cut_by_limit(limit, found_rows, order="newest")
        return
    table = Table("Case", "Type", "Tenant", "Owner", "Status", "Opened", "Linked")
    for row in rows:
        version = f" v{row['type_version']}" if row.get("type_version") else ""
        links = [f"from {row['opened_from']}"] if row.get("opened_from") else []
        links += [f"opened {row['follow_on_ref']}"] if row.get("follow_on_ref") else []
        table.add_row(
            row["case_ref"],
            f"{row['type'] or ''}{version}",
            row["tenant_ref"] or "",
            row["owner"] or "",
            row["status"] or "",
            (row["opened_at"] or "")[:16].replace("T", " "),
            ", ".join(links),
        )
    console.print(table)
    cut_by_limit(limit, found_rows, order="newest")


def _report(result: RequestResult, json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    for change in result.changes:
        subject = f"{change.task_key}: " if change.task_key else ""
        console.print(
            f"  {subject}{change.kind.replace('_', ' ')}"
            + (f" ({change.detail})" if change.detail else "")
        )
    console.print(f"Case {result.case_ref} is {result.case_status.value}.")


def _fields(values: list[str] | None) -> dict[str, str]:
    """The answers of `--field LABEL=VALUE`, by label; refused (`bad_value`) when one is
    not LABEL=VALUE, or when a label comes twice: which answer was meant cannot be told,
    and keeping either would record what the person may not have meant. Labels are
    compared as a task matches them, without case or surrounding spaces."""
    responses: dict[str, str] = {}
    labels: dict[str, str] = {}  # each label as written, by the label as a task matches it
    for item in values or []:
        label, sep, value = item.partition("=")
        label = label.strip()
        if not sep or not label:
            bad_value(
                "--field", f'"{item}" is not LABEL=VALUE; write e.g. --field "Risk level=high"'
            )
        key = label.casefold()
        if key in labels:
            bad_value("--field", f'"{labels[key]}" is given twice; give each field once')
        labels[key] = label
        responses[label] = value.strip()
    return responses


@app.command()
def complete(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK", help="Task key or id.")],
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            metavar="OUTCOME",
            help="One of the task's outcomes (`case show` lists them).",
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="A note for the case log.")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="LABEL=VALUE",
            help='Information the task records, e.g. "Contact method=Phone"; once per field.',
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Complete a task, with its outcome and the information it records."""
    _send(
        case_ref,
        CompleteTask,
        json_out,
        task=task,
        outcome=outcome,
        responses=_fields(field),
        note=note,
    )


@app.command("add-task")
def add_task(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK", help="Task definition id.")],
    note: Annotated[
        str | None,
        typer.Option("--note", metavar="TEXT", help="Why the task is needed, for the case log."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Add a task to the plan at the point of need."""
    _send(case_ref, AddTask, json_out, task=task, note=note)


@app.command("cancel-task")
def cancel_task(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    cascade: Annotated[
        bool, typer.Option("--cascade", help="Also cancel the tasks that depend on it.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the case log.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Cancel a task that is no longer needed."""
    _send(
        case_ref,
        CancelTask,
        json_out,
        task=task,
        cascade=cascade,
        reason=reason,
    )


@app.command()
def bypass(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the case log.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Bypass an optional task."""
    _send(case_ref, BypassTask, json_out, task=task, reason=reason)


@app.command()
def undo(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the case log.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Undo a completion while nothing that depends on it has started."""
    _send(case_ref, UndoCompletion, json_out, task=task, reason=reason)


@app.command()
def close(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", metavar="OUTCOME", help="One of the type's case outcomes."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the case log.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Close a case with an outcome; tasks still open are cancelled."""
    _send(case_ref, CloseCase, json_out, outcome=outcome, reason=reason)


@app.command()
def pause(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    reason: Annotated[
        str,
        typer.Option("--reason", metavar="TEXT", help="Why, e.g. 'tenant in hospital'."),
    ],
    json_out: JsonFlag = False,
) -> None:
    """Pause every clock of a case; nothing escalates until it is resumed."""
    _send(case_ref, PauseCase, json_out, reason=reason)


@app.command()
def resume(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    json_out: JsonFlag = False,
) -> None:
    """Resume a paused case; every due point moves on by the paused working time."""
    _send(case_ref, ResumeCase, json_out)


@app.command()
def hold(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why it is held, for the case log.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Hold one task: its clock stops and its escalations wait."""
    _send(case_ref, HoldTask, json_out, task=task, reason=reason)


@app.command()
def release(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    json_out: JsonFlag = False,
) -> None:
    """Release a held task."""
    _send(case_ref, ReleaseTask, json_out, task=task)


@app.command()
def revise(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    clock: Annotated[str, typer.Argument(metavar="CLOCK", help="`case` or a task key.")],
    due: Annotated[
        str,
        typer.Option(
            "--due",
            metavar="ISO",
            help="New target, ISO 8601 (e.g. 2026-12-01T17:00); without an offset it is the "
            "case calendar's local time.",
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why the target changes, for the log.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Override a calculated target where the SLA allows revision; the reason is logged."""
    _send(
        case_ref,
        ReviseTarget,
        json_out,
        clock=clock,
        due_at=_due(case_ref, due),
        reason=reason,
    )


@app.command("stop-recurrence")
def stop_recurrence(
    case_ref: Annotated[str, typer.Argument(metavar="CASE")],
    task: Annotated[
        str, typer.Argument(metavar="TASK", help="The recurring task's id or an occurrence.")
    ],
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why the series ends, for the log.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """End a recurring task's series: the occurrence still to come is cancelled; those
    already open stay open."""
    _send(case_ref, StopRecurrence, json_out, task=task, reason=reason)


def _recurrence(provision_type: ProvisionType, task_id: str) -> Recurrence | None:
    definition = provision_type.task(task_id)
    return definition.recurrence if definition else None


def _due(case_ref: str, text: str) -> datetime:
    """An ISO 8601 instant; without an offset, wall-clock time in the case's calendar, as
    `calendar due` reads it."""
    try:
        due_at = datetime.fromisoformat(text.strip())
    except ValueError:
        bad_value("--due", f'"{text}" is not a date and time; write e.g. 2026-12-01T17:00')
    if "T" not in text.strip() and " " not in text.strip():
        bad_value(
            "--due",
            f'"{text}" is a day, not a time: write when on it, e.g. {text.strip()}T17:00 '
            "(the case calendar's local time)",
        )
    if due_at.tzinfo is not None:
        return due_at
    state: CaseState = _call(lambda cases: cases.state(case_ref))
    zone = calendar_for(state.provision_type.resolved_calendar).zone
    local = due_at.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != due_at:
        fail(f'--due "{text}" does not exist in {zone}: the clocks go forward then.')
    return local
