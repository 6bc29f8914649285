"""A real SMTP server on loopback (aiosmtpd) for the mail tests, and free loopback ports.

Import the `smtp` fixture into a test module to use it; it reappears as a test argument.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from activities.mailer import Mailer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """What the server accepted: (envelope recipients, message), in arrival order.

    Addresses in ``refuse`` are refused with 550 at RCPT, as a server does for a mailbox
    that does not exist.
    """

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def holds(self, count: int) -> Callable[[], Awaitable[bool]]:
        """A probe for `eventually`: the inbox has ``count`` messages."""

        async def probe() -> bool:
            return len(self.messages) >= count

        return probe

    def to(self) -> list[str]:
        with self._lock:
            return [address for rcpt, _ in self.messages for address in rcpt]

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(message["Message-ID"]) for _, message in self.messages]


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1:`port`; the port is fixed before it starts, so the
    mailer can point at a server that is not (yet) there."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def mailer(self) -> Mailer:
        return Mailer.from_url(f"smtp://127.0.0.1:{self.port}", sender="alerts@northfield.example")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port, not started; stopped after the test."""
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()
