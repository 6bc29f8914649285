"""Why Temporal could not be reached, in a few words a person can act on.

The SDK reports a failed connection with the text of the Rust transport underneath
(``tonic::transport::Error(Transport, ConnectError(...))``); `unreachable_reason` picks
out what happened so that the message names the cause, not the library.
"""

from __future__ import annotations

# Checked in order: the first whose clue appears in the SDK's text names the cause.
_CAUSES = (
    # Connected, then the first call was not answered as Temporal answers it: a web
    # server, a database or a proxy on that port.
    (("get_system_info",), "something answers there, but it is not a Temporal server"),
    (("connectionrefused", "connection refused"), "connection refused"),
    (("dns error", "failed to lookup address", "name or service not known"), "unknown host"),
    (("timed out", "timeout", "deadline"), "no answer in time"),
    (("certificate", "tls", "handshake"), "the secure connection failed"),
    (("broken pipe", "connection reset", "connectionreset"), "the connection was dropped"),
)


def unreachable_reason(error: object) -> str:
    """A few words for why Temporal could not be reached, from the SDK's error text."""
    text = str(error).lower()
    for clues, reason in _CAUSES:
        if any(clue in text for clue in clues):
            return reason
    return "could not connect"
