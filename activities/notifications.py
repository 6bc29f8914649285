"""The escalation activity: tell each recipient once, through the outbox and by mail.

Register an instance's bound method on the worker:
``Worker(..., activities=[notifications.notify_escalation])``.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.attempts import alive, failing_briefly, heartbeating
from activities.contracts import NOTIFY_ESCALATION, EscalationNotice, NotificationResult
from activities.database import notifications as outbox
from activities.mailer import Mailer, MailRejected, MailUnavailable, MailUncertain
from activities.recipients import Recipient, fired_on, resolve_recipients
from activities.templates import (
    RenderedMessage,
    TemplateStore,
    UnknownTemplate,
    build_context,
    service_templates,
)

ACCEPTED_LIMIT = 10_000
"""Messages the server took whose ``sent`` has not landed, remembered at most."""


class NotificationActivities:
    """Escalation notices in, rows in the outbox and mail out.

    Retrying can fix a mail server that is down or a database that is busy, so those
    raise and Temporal retries with the workflow's backoff. It cannot fix an owner with
    no address, a template that does not render or a mailbox the server refuses, so each
    of those is recorded as a ``failed`` row with the reason: visible in
    ``support-provision notifications list``, never silently lost, never blocking the case.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateStore,
        mailer: Mailer | None,
        ui_url: str,
        namespace: str,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._own_templates = service_templates()
        self._mailer = mailer
        self._ui_url = ui_url.rstrip("/")
        self._namespace = namespace
        self._accepted: dict[str, datetime] = {}  # by idempotency key: taken, not yet "sent"
        self._sending: dict[str, asyncio.Future[None]] = {}  # by idempotency key: under way

    def case_url(self, workflow_id: str) -> str:
        """The case in the Temporal UI."""
        return f"{self._ui_url}/namespaces/{quote(self._namespace, safe='')}/workflows/" + quote(
            workflow_id, safe=""
        )

    @activity.defn(name=NOTIFY_ESCALATION)
    async def notify_escalation(self, notice: EscalationNotice) -> NotificationResult:
        """Record one notification per recipient, then mail those not yet sent.

        Recipients are resolved here, when the escalation fires, against the directory in
        the database as it stands then; group memberships count if in effect on the day
        the rule fired (``notice.fired_at`` in Europe/London).

        Every row is written and committed before anything is sent, keyed
        ``<notice.key>:<address>``, so a retry finds the rows of the first attempt. Each
        SMTP attempt is counted and marked ``sending`` (committed) before it begins, and
        ``sent`` once the server took the message; what a retry does with a row an
        earlier attempt left is `_deliver`'s rule. The attempt heartbeats throughout, so
        a worker that dies is noticed within the heartbeat timeout.
        """
        with failing_briefly(f"notify {notice.key}"):
            async with heartbeating():
                return await self._notify(notice)

    async def tell(self, notice: EscalationNotice) -> NotificationResult:
        """What `notify_escalation` does, for a notice the service raises itself, outside
        any workflow (`starter.ended_outside`): the same rows, keys and once-only
        delivery. It raises if the database or mail server is away; telling the same
        notice again later records nothing twice and mails only what was not sent."""
        return await self._notify(notice)

    async def _notify(self, notice: EscalationNotice) -> NotificationResult:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            # The directory as it stands now, memberships as on the day the rule fired: a
            # retry the next day still tells a member whose last day was the day it fired.
            resolution = await resolve_recipients(
                session, notice.recipients, notice.owner, on=fired_on(notice.fired_at)
            )
            rows = [self._row(notice, recipient, now) for recipient in resolution.recipients]
            for unreached in resolution.unreached:
                nobody = Recipient(unreached.what, unreached.what, "", "nobody")
                row = self._row(notice, nobody, now, key=f"{notice.key}:{unreached.what}")
                rows.append({**row, "status": outbox.FAILED, "last_error": unreached.reason})
            recorded = await outbox.record(session, rows)
        if recorded:  # a first attempt: a retry finds these rows and says nothing again
            for row in rows:
                if row["status"] == outbox.FAILED:
                    activity.logger.warning(
                        "notification %s not sent: %s", row["idempotency_key"], row["last_error"]
                    )
        async with self._sessions() as session:
            stored = await outbox.for_notice(session, notice.key)
        sent = 0
        if self._mailer is not None:
            held: list[outbox.NotificationRow] = []
            for stored_row in stored:
                if stored_row.status in (outbox.PENDING, *outbox.UNCONFIRMED):
                    try:
                        sent += await self._deliver(self._mailer, stored_row)
                    except _Held as holding:
                        held.append(holding.row)
            if held:
                raise SendingElsewhere(held)
            async with self._sessions() as session:
                stored = await outbox.for_notice(session, notice.key)
        return NotificationResult(
            recorded=recorded,
            sent=sent,
            recipients=[
                r.recipient_address
                for r in stored
                if r.recipient_address and r.status != outbox.FAILED
            ],
        )

    def _row(
        self, notice: EscalationNotice, recipient: Recipient, now: datetime, key: str | None = None
    ) -> dict[str, Any]:
        message, error = self._render(notice, recipient)
        status = outbox.PENDING if self._mailer else outbox.RECORDED
        return {
            "idempotency_key": key or f"{notice.key}:{recipient.email.lower()}",
            "notice_key": notice.key,
            "case_ref": notice.case_ref,
            "rule": notice.rule,
            "trigger": notice.trigger,
            "occurrence": notice.occurrence,
            "task_key": notice.task_key,
            "template": notice.template,
            "recipient_id": recipient.id,
            "recipient_name": recipient.name,
            "recipient_address": recipient.email or None,
            "channel": outbox.EMAIL if self._mailer else outbox.OUTBOX,
            "subject": message.subject if message else "",
            "body_text": message.text if message else "",
            "body_html": message.html if message else None,
            "status": outbox.FAILED if error else status,
            "attempts": 0,
            "unconfirmed": 0,
            "last_error": error,
            "created_at": now,
            "sent_at": None,
        }

    def _render(
        self, notice: EscalationNotice, recipient: Recipient
    ) -> tuple[RenderedMessage | None, str | None]:
        context = build_context(notice, recipient, self.case_url(notice.workflow_id))
        try:
            return self._message(notice.template, context), None
        except UnknownTemplate as error:
            return None, str(error)
        except (TemplateError, TypeError, ValueError) as error:
            return None, f"template {notice.template!r} did not render: {error}"

    def _message(self, template_id: str, context: dict[str, Any]) -> RenderedMessage:
        """The catalog's template; for a notice of the service's own that the catalog has
        no template of, the service's (looked for only then, off every escalation's path)."""
        try:
            return self._templates.render(template_id, context)
        except UnknownTemplate:
            if template_id in self._templates.files() or (
                template_id not in self._own_templates.files()
            ):
                raise  # the catalog's own, incomplete; or nobody's
            return self._own_templates.render(template_id, context)

    async def _deliver(self, mailer: Mailer, row: outbox.NotificationRow) -> int:
        """Mail one row not yet sent; 1 if the server took it now, else 0.

        What a retry does with a row an earlier attempt left unconfirmed:

        * the server took it in this process but ``sent`` did not land (the database
          was read-only or locked): mark it ``sent``, never send it again;
        * this process is still in that attempt's SMTP transaction (the attempt was
          timed out or cancelled, the transaction goes on in its thread): wait for it,
          and go by how it ended;
        * another attempt holds it (``sending`` and its lease not run out: a worker
          starved so long its heartbeat timed out is still at it): leave it to that
          attempt, and fail this one (`SendingElsewhere`) so that a later retry finds it
          ``sent``, or its lease run out;
        * ``sending`` or ``resending`` with the lease run out (the attempt was cut off: a
          worker killed, a connection lost after the message was handed over): SMTP
          cannot say whether it arrived, so send it once more, same ``Message-ID``, as
          ``resending``, at most `outbox.RESEND_LIMIT` times; after that ``uncertain``,
          not sent again.

        An attempt the server is known not to have taken (no connection, a refusal
        before the message was handed over) puts the row back to ``pending``; the
        attempts found cut off stay counted in ``unconfirmed``.
        """
        key = row.idempotency_key
        settled = False  # this process saw the attempt before end: no lease to respect
        under_way = self._sending.get(key)
        if under_way is not None:
            await asyncio.wait([under_way])  # not cancelled with this attempt
            settled = True
            async with self._sessions() as session:
                row = await outbox.by_id(session, row.id) or row
            if row.status not in (outbox.PENDING, *outbox.UNCONFIRMED):
                return 0  # the attempt before recorded how it ended
        accepted_at = self._accepted.get(key)
        if accepted_at is not None:
            return await self._confirm(row, accepted_at, sent=0)
        now = datetime.now(UTC)
        if row.held(now) and not settled:
            raise _Held(row)
        cut_off = row.status in outbox.UNCONFIRMED
        if cut_off and row.unconfirmed >= outbox.RESEND_LIMIT:
            return await self._doubtful(row)
        try:
            message = compose(row, mailer)
        except (ValueError, LookupError, MessageError) as error:
            return await self._give_up(row, f"not a usable address: {error or 'empty'}")
        attempt = outbox.RESENDING if cut_off else outbox.SENDING
        recorded = False

        async def record_attempt() -> None:
            # Once the server has taken the envelope, just before the message: a worker
            # killed from here until "sent" lands leaves a message that may have arrived,
            # so the less happens in between, the fewer copies a crash can cost.
            nonlocal recorded
            async with self._sessions.begin() as session:
                taken = await outbox.begin_attempt(
                    session, row, attempt, now=now, after_cut_off=cut_off
                )
            if not taken:
                raise _Held(row)  # another attempt began on it since it was read
            recorded = True
            alive()  # the server hears the attempt is alive as the message goes

        alive()  # before a transaction that may take a while
        sending = asyncio.ensure_future(mailer.send(message, before_handover=record_attempt))
        self._sending[key] = sending
        sending.add_done_callback(lambda done: self._ended(key, done))
        try:
            await asyncio.shield(sending)  # cancelled or not, the transaction goes on
        except MailRejected as error:
            return await self._give_up(row, str(error))
        except MailUncertain:
            raise  # still unconfirmed: the retry resends at most once
        except MailUnavailable as error:
            async with self._sessions.begin() as session:
                await outbox.note_attempt_failed(session, row.id, str(error), counted=recorded)
            raise
        return await self._confirm(row, self._accepted.get(key) or datetime.now(UTC), sent=1)

    def _ended(self, key: str, sending: asyncio.Future[None]) -> None:
        """An SMTP transaction of this process ended, its attempt waiting or not: what the
        server took is remembered, so no later attempt sends it again."""
        if self._sending.get(key) is sending:
            del self._sending[key]
        if not sending.cancelled() and sending.exception() is None:
            self._remember(key, datetime.now(UTC))

    async def _confirm(self, row: outbox.NotificationRow, at: datetime, *, sent: int) -> int:
        async with self._sessions.begin() as session:
            await outbox.mark_sent(session, row.id, at)
        self._accepted.pop(row.idempotency_key, None)
        return sent

    def _remember(self, key: str, at: datetime) -> None:
        """The server took `key`'s message: kept until ``sent`` is committed (bounded;
        a retry in another process falls back on the rule of `_deliver`)."""
        if len(self._accepted) >= ACCEPTED_LIMIT:
            self._accepted.pop(next(iter(self._accepted)))
        self._accepted[key] = at

    async def _doubtful(self, row: outbox.NotificationRow) -> int:
        reason = (
            f"not sent again: {row.unconfirmed + 1} of {row.attempts} attempts were cut off "
            "before the mail server confirmed them, so it may already have arrived"
        )
        activity.logger.warning("notification %s %s", row.idempotency_key, reason)
        async with self._sessions.begin() as session:
            await outbox.mark_uncertain(session, row.id, reason)
        return 0

    async def _give_up(self, row: outbox.NotificationRow, error: str) -> int:
        activity.logger.warning("notification %s not sent: %s", row.idempotency_key, error)
        async with self._sessions.begin() as session:
            await outbox.mark_failed(session, row.id, error)
        return 0


class _Held(Exception):
    """Another attempt holds this row (it began to send it and its lease has not run out)."""

    def __init__(self, row: outbox.NotificationRow) -> None:
        super().__init__(row.idempotency_key)
        self.row = row


class SendingElsewhere(MailUnavailable):
    """Messages of this notice another attempt is sending: not sent beside it; a retry
    finds them sent, or their lease run out."""

    def __init__(self, held: list[outbox.NotificationRow]) -> None:
        until = max((r.lease_until for r in held if r.lease_until), default=None)
        when = f" until {until:%H:%M:%S} UTC" if until else ""
        count = "1 message" if len(held) == 1 else f"{len(held)} messages"
        super().__init__(f"{count} held by another attempt that is sending{when}")


def compose(row: outbox.NotificationRow, mailer: Mailer) -> EmailMessage:
    """The email of an outbox row; its Message-ID depends only on the idempotency key."""
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = mailer.sender
    message["To"] = Address(row.recipient_name or "", addr_spec=row.recipient_address or "")
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row.idempotency_key, mailer.domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def message_id(idempotency_key: str, domain: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}.notification@{domain}>"
