"""SLA escalations in real time on the Temporal dev server, mailed through a real SMTP server.

The contact task warns 2 seconds after the case opens and breaches 2 seconds later: the
worker's activity writes each notification to the outbox and mails it through an aiosmtpd
server on loopback. Visibility (the `SlaState` and `CasePriority` search attributes) is the
dev server's own, queried as an operator would.
"""

# Fixtures imported from sla_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from collections.abc import Callable

from temporalio.client import Client

from activities.database.notifications import NotificationRow
from activities.notifications import message_id
from casemodel.requests import AddTask, CompleteTask
from casemodel.state import CaseState, CaseStatus
from starter.client import CaseClient
from tests.integration.sla_fixtures import (  # noqa: F401
    address_of,
    by_rule,
    mailing_cases,
    outbox,
    seconds_type,
    sessions,
    sla_sessions,
)
from tests.sealing import opened
from tests.smtp import SmtpServer, smtp  # noqa: F401
from tests.waiting import eventually
from workflows.case_workflow import HANDOVER_SUMMARY
from workflows.names import workflow_id_for

OWNER = "tom-bennett"
TOM = address_of(OWNER)
PRIYA = address_of("priya-shah")  # Tom's manager
TOLD = {"contact-warning": [TOM], "contact-breach": [TOM, PRIYA]}


async def open_case(cases: CaseClient) -> str:
    started = await cases.start_case(
        seconds_type(), tenant_ref="TEN-77", case_ref=f"QC-{uuid.uuid4().hex[:8]}", owner=OWNER
    )
    return started.case_ref


def rows_where(
    sessions, case_ref: str, check: Callable[[list[NotificationRow]], bool]
) -> Callable[[], object]:
    async def probe() -> list[NotificationRow] | None:
        rows = await outbox(sessions, case_ref)
        return rows if check(rows) else None

    return probe


def all_sent(count: int) -> Callable[[list[NotificationRow]], bool]:
    return lambda rows: len(rows) == count and all(r.status == "sent" for r in rows)


async def found_by_visibility(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def finish(cases: CaseClient, case_ref: str) -> CaseState:
    """Do the case's work, so it completes and nothing more can fire."""
    await cases.send(case_ref, CompleteTask(task="contact"))
    await cases.send(case_ref, CompleteTask(task="follow-up"))
    assert (await cases.result(case_ref)).status is CaseStatus.completed
    return await cases.state(case_ref)


def assert_mailed_once_each(smtp: SmtpServer, rows: list[NotificationRow]) -> None:
    """One message per outbox row, to that row's address, with that row's Message-ID."""
    assert len(smtp.inbox.messages) == len(rows)
    assert sorted(smtp.inbox.to()) == sorted(r.recipient_address for r in rows)
    expected = {message_id(r.idempotency_key, smtp.mailer.domain) for r in rows}
    assert sorted(smtp.inbox.message_ids()) == sorted(expected)


async def test_warning_then_breach_are_mailed_once_each_and_the_case_shows_breached(
    cases: CaseClient, sessions, smtp: SmtpServer, temporal_client: Client
):
    smtp.start()
    case_ref = await open_case(cases)

    rows = await eventually(rows_where(sessions, case_ref, all_sent(3)), timeout=15)
    assert by_rule(rows) == TOLD
    warning, *breach = rows
    assert all(warning.created_at <= b.created_at for b in breach)
    assert {r.template for r in breach} == {"task-sla-breach"}
    assert all(r.channel == "email" and r.attempts == 1 and r.sent_at for r in rows)
    await eventually(smtp.inbox.holds(3))
    assert_mailed_once_each(smtp, rows)
    subjects = [str(m["Subject"]) for _, m in smtp.inbox.messages]
    assert subjects[0].startswith("Due soon: Contact on case ")
    assert all(s.startswith("Overdue: Contact on case ") for s in subjects[1:])

    wid = workflow_id_for(case_ref)
    query = f"WorkflowId = '{wid}' AND SlaState = 'breached' AND CasePriority = 'high'"

    async def breached() -> list[str]:
        return await found_by_visibility(temporal_client, query)

    assert await eventually(breached, timeout=10) == [wid]

    state = await finish(cases, case_ref)
    assert [(f.rule, f.trigger) for f in state.firings] == [
        ("contact-warning", "warning"),
        ("contact-breach", "breach"),
    ]
    assert state.firings[0].fired_at < state.firings[1].fired_at
    assert len(smtp.inbox.messages) == 3
    assert len(await outbox(sessions, case_ref)) == 3


async def test_mail_that_cannot_go_out_stays_pending_and_goes_once_when_the_server_is_back(
    cases: CaseClient, sessions, smtp: SmtpServer
):
    case_ref = await open_case(cases)  # the mail server is not running yet

    def tried_and_pending(rows: list[NotificationRow]) -> bool:
        return bool(rows) and all(r.status == "pending" for r in rows) and rows[0].attempts >= 1

    rows = await eventually(rows_where(sessions, case_ref, tried_and_pending), timeout=10)
    assert rows[0].rule == "contact-warning"
    assert f"127.0.0.1:{smtp.port}" in (rows[0].last_error or "")
    assert smtp.inbox.messages == []

    smtp.start()  # on the same port; the activity's next retry (2 s backoff) finds it
    rows = await eventually(rows_where(sessions, case_ref, all_sent(3)), timeout=15)
    assert by_rule(rows) == TOLD
    await eventually(smtp.inbox.holds(3))
    assert_mailed_once_each(smtp, rows)
    assert rows[0].attempts >= 2 and rows[0].last_error is None

    state = await finish(cases, case_ref)
    assert [f.rule for f in state.firings] == ["contact-warning", "contact-breach"]
    assert len(smtp.inbox.messages) == 3
    assert {r.status for r in await outbox(sessions, case_ref)} == {"sent"}


async def test_a_mail_outage_does_not_hold_back_the_breach(
    cases: CaseClient, sessions, smtp: SmtpServer, temporal_client: Client
):
    case_ref = await open_case(cases)  # the mail server stays down; breach due 4 s on

    def both_recorded(rows: list[NotificationRow]) -> bool:
        return by_rule(rows) == TOLD and all(r.status == "pending" for r in rows)

    try:
        await eventually(rows_where(sessions, case_ref, both_recorded), timeout=7)
        state = await cases.state(case_ref)
        assert [f.rule for f in state.firings] == ["contact-warning", "contact-breach"]
        assert state.priority == "high"
    finally:
        await temporal_client.get_workflow_handle(workflow_id_for(case_ref)).terminate("over")


async def test_notices_still_on_their_way_at_a_hand_over_are_sent_once_by_the_next_run(
    cases: CaseClient, sessions, smtp: SmtpServer, temporal_client: Client
):
    """The mail server is down when the case reaches its budget: the notices in flight do
    not land within the hand-over's wait, so the next run takes them over and, once the
    server is back, each recipient is mailed once."""
    started = await cases.start_case(
        with_check_ins(seconds_type()),
        tenant_ref="TEN-78",
        case_ref=f"QH-{uuid.uuid4().hex[:8]}",
        owner=OWNER,
        history_budget=200,
    )
    case_ref, handle = started.case_ref, temporal_client.get_workflow_handle(started.workflow_id)
    await eventually(rows_where(sessions, case_ref, lambda rows: len(rows) == 3), timeout=10)
    first_run = (await handle.describe()).run_id

    async def handing_over() -> bool:
        """Requests until the case reaches its budget and its hand-over waits."""
        events = (await handle.fetch_history()).events
        if any(HANDOVER_SUMMARY.encode() in opened(e.user_metadata.summary).data for e in events):
            return True
        await cases.send(case_ref, AddTask(task="check-in"))
        return False

    async def handed_over() -> bool:
        return (await handle.describe()).run_id != first_run

    await eventually(handing_over, timeout=30, interval=0.01)
    await eventually(handed_over, timeout=30, interval=0.2)  # the wait is over: carried
    history = await handle.fetch_history()
    carried = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert b'"unconfirmed":["' in opened(carried).data  # the notices were handed over
    smtp.start()
    rows = await eventually(rows_where(sessions, case_ref, all_sent(3)), timeout=30)
    assert by_rule(rows) == TOLD
    await eventually(smtp.inbox.holds(3))
    assert_mailed_once_each(smtp, rows)
    await handle.terminate("test over")


def with_check_ins(provision_type):
    """The type with a check-in that may be added any number of times."""
    data = provision_type.model_dump()
    check_in = {"id": "check-in", "name": "Check-in", "automatic": False, "repeatable": True}
    data["tasks"] = [*data["tasks"], {**check_in, "mandatory": False}]
    return type(provision_type).model_validate(data)
