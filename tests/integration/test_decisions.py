"""Decisions on what was recorded, on the Temporal dev server with the real worker, a real
SQLite outbox holding the shipped directory, and a real SMTP server on loopback.

A money advice plan's assessment adds a referral only when the arrears are above 500; a
path completes the case with its outcome; an accepted referral's communication step
writes one outbox row per member of the money advice partners and mails each once, also
when the mail server is down at first and the activity is retried, and also when the case
hands over to a new run while its communications are still on their way.
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
from casemodel.state import CaseStatus
from definitions.schema import ProvisionType
from starter.client import CaseClient
from tests.factories import SUPPORT_WORKER, decision_type, writing_check_ins
from tests.integration.sla_fixtures import (  # noqa: F401
    group_addresses,
    mailing_cases,
    outbox,
    sessions,
    sla_sessions,
)
from tests.sealing import opened
from tests.smtp import SmtpServer, smtp  # noqa: F401
from tests.waiting import eventually
from workflows.case_workflow import HANDOVER_SUMMARY

OWNER = "lucy-clarke"
PARTNERS = group_addresses("money-advice-partners")


async def open_case(
    cases: CaseClient, provision_type: ProvisionType | None = None, **options: object
) -> str:
    started = await cases.start_case(
        provision_type or decision_type(),
        tenant_ref="TEN-300",
        case_ref=f"MP-{uuid.uuid4().hex[:8]}",
        owner=OWNER,
        **options,  # type: ignore[arg-type]
    )
    return started.case_ref


async def assess(cases: CaseClient, case_ref: str, arrears: str) -> None:
    await cases.send(
        case_ref,
        CompleteTask(task="assessment", outcome="engaged", responses={"arrears": arrears}),
    )


def rows_where(
    sessions, case_ref: str, check: Callable[[list[NotificationRow]], bool]
) -> Callable[[], object]:
    async def probe() -> list[NotificationRow] | None:
        rows = await outbox(sessions, case_ref)
        return rows if check(rows) else None

    return probe


def all_sent(count: int) -> Callable[[list[NotificationRow]], bool]:
    return lambda rows: len(rows) == count and all(r.status == "sent" for r in rows)


def assert_mailed_once_each(smtp: SmtpServer, rows: list[NotificationRow]) -> None:
    """One message per outbox row, to that row's address, with that row's Message-ID."""
    assert len(smtp.inbox.messages) == len(rows)
    assert sorted(smtp.inbox.to()) == sorted(r.recipient_address for r in rows)
    expected = {message_id(r.idempotency_key, smtp.mailer.domain) for r in rows}
    assert sorted(smtp.inbox.message_ids()) == sorted(expected)


async def test_the_referral_is_added_only_above_the_threshold(cases: CaseClient):
    above, below = await open_case(cases), await open_case(cases)
    await assess(cases, above, "800")
    await assess(cases, below, "200")

    referred = await cases.state(above)
    assert [(t.key, t.status.value) for t in referred.tasks if t.task == "referral"] == [
        ("referral", "open")
    ]
    followed = [e for e in referred.log if e.kind == "path_followed"]
    assert [e.detail for e in followed] == ["path refer: Rent arrears (£) is 800, above 500"]
    not_referred = await cases.state(below)
    assert [t.task for t in not_referred.tasks] == ["assessment", "review"]
    assert not [e for e in not_referred.log if e.kind == "path_followed"]


async def test_a_completes_case_path_closes_the_case_with_its_outcome(cases: CaseClient):
    case_ref = await open_case(cases)
    await cases.send(case_ref, CompleteTask(task="assessment", outcome="not-engaging"))
    state = await cases.state(case_ref)
    assert state.status is CaseStatus.completed
    assert state.outcome == "support-declined"
    assert state.follow_on_type == "tenancy-sustainment-assessment"
    assert {t.key: t.status.value for t in state.tasks} == {
        "assessment": "completed",
        "review": "cancelled",
    }

    # The outcome opens a tenancy sustainment assessment, which this database has not
    # published: the case says so, and goes on trying (it is not silently dropped).
    async def failed_visibly():  # type: ignore[no-untyped-def]
        due = (await cases.state(case_ref)).follow_on
        return due if due is not None and due.attempts >= 1 else None

    due = await eventually(failed_visibly, timeout=30)
    assert due.case_ref == f"{case_ref}-TSA"
    assert 'no published version of "tenancy-sustainment-assessment"' in (due.reason or "")
    await temporal_cancel(cases, case_ref)


async def temporal_cancel(cases: CaseClient, case_ref: str) -> None:
    """Stop a case that would go on trying to open its follow-on, so the test ends clean."""
    await cases.client.get_workflow_handle(f"case-{case_ref}").terminate(reason="test over")


async def test_a_sends_step_writes_one_outbox_row_per_recipient_and_mails_each_once(
    cases: CaseClient, sessions, smtp: SmtpServer
):
    case_ref = await open_case(cases)  # the mail server is not running yet
    await assess(cases, case_ref, "800")
    await cases.send(case_ref, CompleteTask(task="referral", outcome="accepted"))

    def tried_and_pending(rows: list[NotificationRow]) -> bool:
        # The first send meets the server down, and the activity fails to be retried.
        pending = all(r.status == "pending" for r in rows)
        return len(rows) == len(PARTNERS) and pending and rows[0].attempts >= 1

    rows = await eventually(rows_where(sessions, case_ref, tried_and_pending), timeout=15)
    assert smtp.inbox.messages == []
    smtp.start()  # the activity's retry (2 s backoff) finds it, and sends each row once
    rows = await eventually(rows_where(sessions, case_ref, all_sent(len(PARTNERS))), timeout=20)
    assert [r.recipient_address for r in rows] == PARTNERS
    assert {(r.rule, r.trigger, r.task_key, r.template) for r in rows} == {
        ("path:tell-partners", "path", "referral", "partner-agency-update")
    }
    assert len({r.idempotency_key for r in rows}) == len(PARTNERS)
    await eventually(smtp.inbox.holds(len(PARTNERS)))
    assert_mailed_once_each(smtp, rows)
    assert rows[0].attempts >= 2 and rows[0].last_error is None

    state = await cases.state(case_ref)
    assert [c.key for c in state.communications] == [f"{case_ref}/referral/path:tell-partners#1"]
    assert state.outgoing == []
    assert state.firings == []
    assert len(await outbox(sessions, case_ref)) == len(PARTNERS)


async def test_communications_on_their_way_at_a_hand_over_are_sent_once_each(
    cases: CaseClient, sessions, smtp: SmtpServer, temporal_client: Client
):
    """Each check-in's completion writes to the support worker while the mail server is
    down, until the case reaches its budget: the next run takes over the communications
    still on their way, and once the server is back each is mailed once."""
    case_ref = await open_case(cases, writing_check_ins(), history_budget=200)
    handle = temporal_client.get_workflow_handle(f"case-{case_ref}")
    first_run = (await handle.describe()).run_id
    completed = 0

    async def handing_over() -> bool:
        nonlocal completed
        events = (await handle.fetch_history()).events
        if any(HANDOVER_SUMMARY.encode() in opened(e.user_metadata.summary).data for e in events):
            return True
        added = await cases.send(case_ref, AddTask(task="check-in"))
        key = next(c.task_key for c in added.changes if c.kind == "task_added")
        await cases.send(case_ref, CompleteTask(task=key or ""))
        completed += 1
        return False

    async def handed_over() -> bool:
        return (await handle.describe()).run_id != first_run

    await eventually(handing_over, timeout=60, interval=0.01)
    await eventually(handed_over, timeout=30, interval=0.2)
    history = await handle.fetch_history()
    carried = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert b'"unconfirmed":["' in opened(carried).data  # communications were handed over
    smtp.start()
    rows = await eventually(rows_where(sessions, case_ref, all_sent(completed)), timeout=60)
    assert {r.recipient_address for r in rows} == {SUPPORT_WORKER}
    assert len({r.notice_key for r in rows}) == completed
    await eventually(smtp.inbox.holds(completed), timeout=10)
    assert_mailed_once_each(smtp, rows)
    await handle.terminate("test over")
