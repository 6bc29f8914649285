"""Notices through a database and a mail server that fail part-way, on each database.

A message the mail server took is never sent again because ``sent`` could not be
written; an attempt cut off where the server may have taken it is sent again, at most
twice, then left `uncertain`; a retry beside a live attempt (one whose heartbeat timed out
on a starved worker) never mails what that attempt holds; every attempt is counted. The
faults are the databases' own: a trigger refusing the update (as a database gone
read-only refuses it), rows left as a killed worker leaves them.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.database.notifications import Notification
from tests.integration.db_fixtures import database_url, engine, sessions  # noqa: F401
from tests.integration.test_notifications import (
    TOLD,
    activities,
    directory,  # noqa: F401
    notice,
    notify,
    outbox,
)
from tests.smtp import Inbox, SmtpServer, smtp  # noqa: F401
from tests.waiting import eventually

REFUSAL = "the outbox is read-only for maintenance"


async def refuse_sent(sessions: async_sessionmaker[AsyncSession], refuse: bool) -> None:
    """While `refuse`, the database refuses to mark a notification sent."""
    async with sessions.begin() as session:
        if session.bind.dialect.name == "sqlite":
            await session.execute(text("DROP TRIGGER IF EXISTS refuse_sent"))
            if refuse:
                await session.execute(
                    text(
                        "CREATE TRIGGER refuse_sent BEFORE UPDATE ON notifications "
                        f"WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                    )
                )
            return
        await session.execute(text("DROP TRIGGER IF EXISTS refuse_sent ON notifications"))
        if refuse:
            await session.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_sent() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.status = 'sent' THEN RAISE EXCEPTION '{REFUSAL}'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_sent BEFORE UPDATE ON notifications "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_sent()"
                )
            )


async def test_a_message_the_server_took_is_not_sent_again_when_sent_did_not_land(
    directory, smtp: SmtpServer
):
    smtp.start()
    acts = activities(directory, smtp.mailer)
    await refuse_sent(directory, True)
    try:
        with pytest.raises(ApplicationError, match=REFUSAL) as failure:
            await notify(acts, notice())
        assert failure.value.__cause__ is None and "\n" not in failure.value.message
        assert len(smtp.inbox.messages) == 1  # taken, and the first "sent" refused
        rows = await outbox(directory)
        assert sorted((r.status, r.attempts) for r in rows) == [
            ("pending", 0),
            ("pending", 0),
            ("sending", 1),
        ]
    finally:
        await refuse_sent(directory, False)

    retried = await notify(acts, notice())

    assert sorted(smtp.inbox.to()) == sorted(TOLD)  # once each: the first not again
    assert len(smtp.inbox.messages) == 3
    assert retried.sent == 2
    rows = await outbox(directory)
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}


async def test_an_attempt_cut_off_is_sent_again_at_most_twice_then_left_uncertain(
    directory, smtp: SmtpServer
):
    smtp.start()
    acts = activities(directory, smtp.mailer)
    first, second = notice(), notice(key="SP-2026-000042:home-visit:visit-breach:2")
    assert (await notify(acts, first)).sent == 3
    assert (await notify(acts, second)).sent == 3
    # As a worker killed mid-send leaves them: the first firing's attempt unconfirmed,
    # the second's resent as often as it may be, and unconfirmed again.
    await set_rows(directory, first.key, status="sending", attempts=1)
    await set_rows(directory, second.key, status="resending", attempts=3, unconfirmed=2)

    again = await notify(acts, first)
    doubtful = await notify(acts, second)

    assert (again.sent, doubtful.sent) == (3, 0)
    assert len(smtp.inbox.messages) == 9  # 6, the first firing's 3 again, no more
    ids = [m for m in smtp.inbox.message_ids()]
    assert len(set(ids)) == 6  # the copies carry the same Message-ID
    rows = {r.idempotency_key: r for r in await outbox(directory)}
    resent = [r for r in rows.values() if r.notice_key == first.key]
    assert {(r.status, r.attempts, r.unconfirmed) for r in resent} == {("sent", 2, 1)}
    left = [r for r in rows.values() if r.notice_key == second.key]
    assert {(r.status, r.attempts, r.unconfirmed) for r in left} == {("uncertain", 3, 2)}
    assert all("may already have arrived" in (r.last_error or "") for r in left)
    # Nothing more goes, however often the activity runs again.
    assert (await notify(acts, second)).sent == 0
    assert len(smtp.inbox.messages) == 9


async def test_every_attempt_is_counted_when_the_server_is_away(directory, smtp: SmtpServer):
    acts = activities(directory, smtp.mailer)
    for _ in range(3):
        with pytest.raises(ApplicationError):
            await notify(acts, notice())
    smtp.start()
    assert (await notify(acts, notice())).sent == 3
    rows = await outbox(directory)
    # The first recipient was tried four times, the others once, when the server was back.
    assert sorted((r.status, r.attempts) for r in rows) == [("sent", 1), ("sent", 1), ("sent", 4)]


async def set_rows(
    sessions: async_sessionmaker[AsyncSession], notice_key: str, **values: Any
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(Notification).where(Notification.notice_key == notice_key).values(**values)
        )


async def test_a_row_another_attempt_holds_is_left_to_it_until_its_lease_runs_out(
    directory, smtp: SmtpServer
):
    smtp.start()
    first = notice()
    assert (await notify(activities(directory, smtp.mailer), first)).sent == 3
    # As another worker's attempt leaves them while it sends: begun, held for a while.
    held_until = datetime.now(UTC) + timedelta(minutes=5)
    await set_rows(directory, first.key, status="sending", attempts=1, lease_until=held_until)

    elsewhere = activities(directory, smtp.mailer)  # a retry in another worker
    with pytest.raises(ApplicationError, match="3 messages held by another attempt"):
        await notify(elsewhere, first)
    assert len(smtp.inbox.messages) == 3
    assert {(r.status, r.attempts) for r in await outbox(directory)} == {("sending", 1)}

    # The holder died: once its lease has run out the rows count as cut off.
    await set_rows(directory, first.key, lease_until=datetime.now(UTC) - timedelta(seconds=1))
    assert (await notify(elsewhere, first)).sent == 3
    assert len(smtp.inbox.messages) == 6
    rows = await outbox(directory)
    assert {(r.status, r.attempts, r.unconfirmed, r.lease_until) for r in rows} == {
        ("sent", 2, 1, None)
    }


class _Gated(Inbox):
    """Takes no message until `gate` is set: an SMTP transaction that takes its time."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.entered.set()
        opened = await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        assert opened, "the test never let the message through"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("first_cancelled", [False, True], ids=["waiting", "cancelled"])
async def test_a_retry_beside_a_live_attempt_never_mails_what_it_holds(
    directory, smtp: SmtpServer, first_cancelled: bool
):
    smtp.inbox = inbox = _Gated()
    smtp.start()
    acts = activities(directory, smtp.mailer)  # one worker, starved: its attempt lives on
    first = asyncio.create_task(notify(acts, notice()))
    await eventually(_set(inbox.entered), what="the first message in its SMTP transaction")
    if first_cancelled:  # as the SDK cancels an attempt whose heartbeat timed out
        first.cancel()
    retry = asyncio.create_task(notify(acts, notice()))
    ended, _ = await asyncio.wait({retry}, timeout=0.2)
    assert not ended  # it waits for the transaction under way, sends nothing
    inbox.gate.set()

    # Each either went through or left what the other held to it ("held by another
    # attempt": Temporal tries it again later); none mailed a row twice.
    for ended in await asyncio.gather(first, retry, return_exceptions=True):
        if isinstance(ended, BaseException):
            assert isinstance(ended, asyncio.CancelledError | ApplicationError), ended
            if isinstance(ended, ApplicationError):
                assert "held by another attempt" in ended.message
    assert (await notify(acts, notice())).sent == 0  # the next retry: all sent already
    assert sorted(inbox.to()) == sorted(TOLD)  # each recipient once
    assert len(inbox.messages) == 3
    assert {(r.status, r.attempts) for r in await outbox(directory)} == {("sent", 1)}


def _set(flag: threading.Event) -> Any:
    async def probe() -> bool:
        return flag.is_set()

    return probe
