"""Why Temporal could not be reached, in a few words a person can act on.

The SDK reports a failed connection with the text of the Rust transport underneath
(``tonic::transport::Error(Transport, ConnectError(...))``); `unreachable_reason` picks
out what happened so that the message names the cause, not the library.
"""

from __future__ import annotations

SECURE_CONNECTION_FAILED = "the secure connection failed"
NOT_TLS = "the server answered without TLS"
CLOSED_AFTER_HANDSHAKE = "the server closed the secure connection"
SECURE_CALL_FAILED = "the first call over the secure connection was not answered"

# Only where the client used TLS, checked first: what the transport reports after a
# handshake the server ended (TLS 1.3 refuses a missing or unknown client certificate
# only once the client thinks it is connected), or a plain-text server's first bytes.
_SECURED_CAUSES = (
    (("invalidcontenttype", "corrupt message", "wrong version number"), NOT_TLS),
    (
        ("connection closed", "operation was canceled", "close_notify", "unexpectedeof"),
        CLOSED_AFTER_HANDSHAKE,
    ),
    # Connected over TLS, then the first call failed: a server that refused the client
    # certificate after the handshake reads like this as often as one that is no Temporal.
    (("get_system_info",), SECURE_CALL_FAILED),
)

# Checked in order: the first whose clue appears in the SDK's text names the cause.
_CAUSES = (
    # Connected, then the first call was not answered as Temporal answers it: a web
    # server, a database or a proxy on that port.
    (("get_system_info",), "something answers there, but it is not a Temporal server"),
    (("connectionrefused", "connection refused"), "connection refused"),
    (("dns error", "failed to lookup address", "name or service not known"), "unknown host"),
    (("timed out", "timeout", "deadline"), "no answer in time"),
    (("certificate", "tls", "handshake"), SECURE_CONNECTION_FAILED),
    (("broken pipe", "connection reset", "connectionreset"), "the connection was dropped"),
)


def unreachable_reason(error: object, *, secured: bool = False) -> str:
    """A few words for why Temporal could not be reached, from the SDK's error text;
    `secured` when the client connected with TLS."""
    text = str(error).lower()
    for clues, reason in (_SECURED_CAUSES + _CAUSES) if secured else _CAUSES:
        if any(clue in text for clue in clues):
            return reason
    return "could not connect"
