"""Sending mail over SMTP, configured by ``SMTP_URL`` and ``SMTP_FROM``.

``SMTP_URL`` is ``smtp://user:password@host:port`` (plain, or ``?starttls=true`` to
upgrade the connection), or ``smtps://…`` for TLS from the first byte (port 465 by
default). ``SMTP_FROM`` is the sender, ``support-provision@localhost`` unless set.

The standard library's `smtplib` does the work in a thread: a handful of messages per
escalation needs no connection pool, and it brings no extra dependency. One connection
per message keeps a failure confined to the message it happened on.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_FROM = "support-provision@localhost"
TIMEOUT_SECONDS = 30.0


class MailUnavailable(Exception):
    """The mail server could not take the message now; trying again later may work."""


class MailUncertain(MailUnavailable):
    """The connection failed after the message was handed over and before the server
    answered: it may have been delivered. SMTP has no way to ask."""


class MailRejected(Exception):
    """The mail server refused the message for good (e.g. an unknown mailbox)."""


@dataclass(frozen=True)
class Mailer:
    """An SMTP server to send through, and the address messages come from."""

    host: str
    port: int
    sender: str = DEFAULT_FROM
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_url(cls, url: str, sender: str = DEFAULT_FROM) -> Mailer:
        """A mailer for ``smtp://user:pass@host:port[?starttls=true]`` or ``smtps://…``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                f"SMTP_URL must look like smtp://user:password@host:port or smtps://…, "
                f"not {_without_password(url)!r}"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"SMTP_URL has a bad port: {_without_password(url)!r}") from None
        implicit = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes")
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            sender=sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=starttls and not implicit,
        )

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return self.sender.rpartition("@")[2] or "localhost"

    async def send(
        self,
        message: EmailMessage,
        *,
        before_handover: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """Hand ``message`` to the server; returns once the server has accepted it.

        `before_handover`, if given, is awaited once the server has accepted the envelope
        (the connection, the sender, the recipients), right before the message is handed
        over: the last moment at which a failure means the server did not take it. What
        it raises is raised here, and the message does not go. The connection is closed
        (QUIT) after this returns, off the path that waits for the message's fate.

        Raises `MailRejected` when the server refuses it permanently (5xx for the
        recipient or the message), `MailUnavailable` for anything worth retrying: a
        failure before the message was handed over (it was not taken), or
        `MailUncertain` after (it may have been).
        """
        if "From" not in message:
            message["From"] = self.sender
        loop = asyncio.get_running_loop()
        gate: Callable[[], None] | None = None
        if before_handover is not None:
            hook = before_handover

            def gate() -> None:  # in the SMTP thread: wait for the event loop to do it
                asyncio.run_coroutine_threadsafe(hook(), loop).result(timeout=self.timeout)

        smtp = await asyncio.to_thread(self._send, message, gate)
        loop.run_in_executor(None, _close, smtp)

    def _send(self, message: EmailMessage, gate: Callable[[], None] | None = None) -> _Tracked:
        smtp: _Tracked | None = None
        taken = False
        try:
            smtp = self._connect()
            smtp.gate = gate
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
            taken = True
            return smtp
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            detail = "; ".join(f"{to}: {c} {_text(m)}" for to, (c, m) in error.recipients.items())
            if all(code >= 500 for code in codes):
                raise MailRejected(f"refused by the mail server: {detail}") from None
            raise MailUnavailable(f"deferred by the mail server: {detail}") from None
        except smtplib.SMTPDataError as error:
            exception = MailRejected if error.smtp_code >= 500 else MailUnavailable
            raise exception(f"{error.smtp_code} {_text(error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as error:
            failure = MailUncertain if smtp is not None and smtp.handed_over else MailUnavailable
            raise failure(
                f"could not send through {self.host}:{self.port}: {error or type(error).__name__}"
            ) from None
        finally:
            if smtp is not None and not taken:
                _close(smtp)

    def _connect(self) -> _Tracked:
        if self.implicit_tls:
            context = ssl.create_default_context()
            return _TrackedSSL(self.host, self.port, timeout=self.timeout, context=context)
        return _Tracked(self.host, self.port, timeout=self.timeout)


class _Tracked(smtplib.SMTP):
    """An SMTP connection that knows whether the message was handed over (DATA began):
    a failure before then means the server did not take it. Its `gate` runs just before."""

    handed_over = False
    gate: Callable[[], None] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        if self.gate is not None:
            self.gate()
        self.handed_over = True
        return super().data(msg)


class _TrackedSSL(_Tracked, smtplib.SMTP_SSL):
    pass


def _close(smtp: smtplib.SMTP) -> None:
    """Say goodbye if the server still listens; the message's fate is already known."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def mailer_from_env(env: Mapping[str, str] = os.environ) -> Mailer | None:
    """The mailer ``SMTP_URL`` configures; ``None`` when it is unset (record only)."""
    url = env.get("SMTP_URL", "").strip()
    if not url:
        return None
    return Mailer.from_url(url, sender=env.get("SMTP_FROM", "").strip() or DEFAULT_FROM)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
