"""The notification outbox: one row per message to one recipient, written before sending.

Every notification is recorded here whether or not it is mailed, so the outbox is
always a channel. A row's ``idempotency_key`` (``<notice key>:<address>``) is unique and
rows are inserted with ON CONFLICT DO NOTHING, so a retried activity or a replayed
workflow finds the row it wrote the first time and never records or sends it twice.

Status, for mail:

* ``pending``: not handed to the mail server yet, or every attempt so far is known not
  to have been taken (the server was away, or answered "try later");
* ``sending``: an attempt is recorded (``attempts`` counted, committed) once the mail
  server has taken the envelope and *before* the message is handed over, and not yet
  confirmed; the attempt holds the row until ``lease_until`` (`SEND_LEASE` on), taken
  only if nobody took the row since it was read (`begin_attempt`), so a second attempt
  beside a live one (a starved worker whose heartbeat timed out) leaves the row to it
  instead of mailing it too;
* ``sent``: the server accepted it and that is committed;
* ``resending``: a retry found the row unconfirmed and its lease run out (the attempt
  before was cut off, the worker killed, and the server may have taken it) and sent it
  once more, with the same ``Message-ID``, so the recipient's mail system can drop the
  copy; ``unconfirmed`` counts the attempts found cut off;
* ``uncertain``: a retry found it unconfirmed for the ``RESEND_LIMIT + 1``-th time:
  every one of those attempts may have been delivered, so it is not sent again;
  `notifications list` shows it;
* ``failed`` when retrying cannot help (nobody to send to, a template that does not
  render, an address the mail server refuses); ``recorded`` when no mail server is set.

``attempts`` counts every SMTP transaction that reached the hand-over of the message
(recorded just before it, so no copy is ever uncounted) or failed before it; one cut
short before the hand-over, by a worker killed, delivered nothing and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .dialects import insert_for
from .models import ID, Base

PENDING, SENT, FAILED, RECORDED = "pending", "sent", "failed", "recorded"
SENDING, RESENDING, UNCERTAIN = "sending", "resending", "uncertain"
UNCONFIRMED = (SENDING, RESENDING)
"""An attempt was begun and not confirmed: the server may have the message."""
STATUSES = (PENDING, SENDING, RESENDING, SENT, UNCERTAIN, FAILED, RECORDED)
SEND_LEASE = timedelta(seconds=20)
"""How long an attempt holds a row it began to send: longer than a live attempt takes to
send one message and record it (a starved one's too: twice the notice's heartbeat
timeout), short enough that a row whose attempt died is sent again soon after."""
RESEND_LIMIT = 2
"""Times a message whose attempt was cut off is sent again: a lost notice is worse than
a copy, and two cut-offs of one message in a row are rare (a worker killed twice
mid-send); a third is taken as a sign to stop and let a person look."""
EMAIL, OUTBOX = "email", "outbox"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index(None, "notice_key"),
        Index(None, "case_ref", "created_at"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(700))
    notice_key: Mapped[str] = mapped_column(String(300))  # the firing: all its rows
    case_ref: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[int] = mapped_column(Integer)
    task_key: Mapped[str | None] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(ID)
    recipient_id: Mapped[str | None] = mapped_column(ID)
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    recipient_address: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    unconfirmed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


class NotificationRow(BaseModel):
    """A notification as the outbox holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    notice_key: str
    case_ref: str
    rule: str
    trigger: str
    occurrence: int
    task_key: str | None
    template: str
    recipient_id: str | None
    recipient_name: str | None
    recipient_address: str | None
    channel: str
    subject: str
    body_text: str
    body_html: str | None
    status: str
    attempts: int
    unconfirmed: int = 0
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    lease_until: datetime | None = None

    def held(self, now: datetime) -> bool:
        """An attempt began to send it and may still be at it (its lease has not run out)."""
        lease = self.lease_until
        return self.status in UNCONFIRMED and lease is not None and lease > now


async def record(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> int:
    """Insert each row unless its idempotency key is already there; how many were new."""
    insert = insert_for(session, "the outbox")
    added = 0
    for row in rows:
        stmt = (
            insert(Notification.__table__)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Notification.__table__.c.id)
        )
        if (await session.execute(stmt)).scalar_one_or_none() is not None:
            added += 1
    return added


async def for_notice(session: AsyncSession, notice_key: str) -> list[NotificationRow]:
    """Every row of one escalation firing, in the order they were recorded."""
    query = select(Notification).where(Notification.notice_key == notice_key)
    rows = await session.scalars(query.order_by(Notification.id))
    return [NotificationRow.model_validate(r) for r in rows.all()]


async def by_id(session: AsyncSession, row_id: int) -> NotificationRow | None:
    found = await session.get(Notification, row_id, populate_existing=True)
    return NotificationRow.model_validate(found) if found is not None else None


async def begin_attempt(
    session: AsyncSession,
    row: NotificationRow,
    status: str,
    *,
    now: datetime,
    after_cut_off: bool = False,
) -> bool:
    """Count an attempt on `row`, mark it unconfirmed (`SENDING`, or `RESENDING` when the
    attempt before was cut off, counted in ``unconfirmed``) and hold it for `SEND_LEASE`;
    committed before the message goes, so no attempt is ever uncounted.

    Taken only if the row is still as `row` read it (same status, same attempts): False
    when another attempt began on it meanwhile, which then holds it."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": Notification.attempts + 1,
        "lease_until": now + SEND_LEASE,
    }
    if after_cut_off:
        values["unconfirmed"] = Notification.unconfirmed + 1
    taken = await session.execute(
        update(Notification)
        .where(
            Notification.id == row.id,
            Notification.status == row.status,
            Notification.attempts == row.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


async def mark_sent(session: AsyncSession, row_id: int, at: datetime) -> None:
    await _set(session, row_id, status=SENT, sent_at=at, last_error=None, lease_until=None)


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> None:
    """Give up on a row: retrying cannot deliver it."""
    await _set(session, row_id, status=FAILED, last_error=error, lease_until=None)


async def mark_uncertain(session: AsyncSession, row_id: int, error: str) -> None:
    """Stop sending a row that may have been delivered twice already."""
    await _set(session, row_id, status=UNCERTAIN, last_error=error, lease_until=None)


async def note_attempt_failed(
    session: AsyncSession, row_id: int, error: str, *, counted: bool = True
) -> None:
    """An attempt the server did not take: the row is pending again, with what went
    wrong (the attempts found cut off before stay counted); `counted` False for one that
    failed before it was recorded (before the message was to be handed over)."""
    values: dict[str, Any] = {"status": PENDING, "last_error": error, "lease_until": None}
    if not counted:
        values["attempts"] = Notification.attempts + 1
    await _set(session, row_id, **values)


async def list_notifications(
    session: AsyncSession,
    case_ref: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[NotificationRow]:
    """The outbox, newest first, filtered by case and status when given."""
    query = select(Notification)
    if case_ref is not None:
        query = query.where(Notification.case_ref == case_ref)
    if status is not None:
        query = query.where(Notification.status == status)
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return [NotificationRow.model_validate(r) for r in (await session.scalars(query)).all()]


@dataclass(frozen=True)
class Delivery:
    """What became of one notice (an escalation that fired, a path's communication): its
    rows by what they came to. ``failed`` holds who was not told and why, each once."""

    told: int = 0
    waiting: int = 0
    failed: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        """One cell of a table: "2 told", "1 told, 1 waiting, 1 not told", "told nobody"."""
        if not (self.told or self.waiting):
            return "told nobody" if self.failed else "not recorded yet"
        parts = [f"{self.told} told"] if self.told else []
        if self.waiting:
            parts.append(f"{self.waiting} waiting")
        if self.failed:
            parts.append(f"{len(self.failed)} not told")
        return ", ".join(parts)


TOLD = (SENT, RECORDED)


async def deliveries(session: AsyncSession, case_ref: str) -> dict[str, Delivery]:
    """What became of each notice of a case, by notice key (`Firing.key`)."""
    query = select(
        Notification.notice_key,
        Notification.status,
        Notification.recipient_name,
        Notification.last_error,
    ).where(Notification.case_ref == case_ref)
    counts: dict[str, dict[str, Any]] = {}
    for key, status, name, error in (await session.execute(query)).all():
        found = counts.setdefault(key, {"told": 0, "waiting": 0, "failed": {}})
        if status in TOLD:
            found["told"] += 1
        elif status == FAILED:
            found["failed"].setdefault((name or "", error or "no reason recorded"), None)
        else:
            found["waiting"] += 1
    return {key: Delivery(c["told"], c["waiting"], tuple(c["failed"])) for key, c in counts.items()}


async def _set(session: AsyncSession, row_id: int, **values: Any) -> None:
    await session.execute(update(Notification).where(Notification.id == row_id).values(**values))
