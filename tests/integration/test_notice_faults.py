"""Notices through a database and a mail server that fail part-way, on each database.

A message the mail server took is never sent again because ``sent`` could not be
written; an attempt cut off where the server may have taken it is sent again, at most
twice, then left `uncertain`; every attempt is counted. The faults are the databases'
own: a trigger refusing the update (as a database gone read-only refuses it), rows left
as a killed worker leaves them.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

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
from tests.smtp import SmtpServer, smtp  # noqa: F401

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
