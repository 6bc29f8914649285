"""What a person reads when Temporal cannot be reached: the cause, never the transport's text.

The error strings are the SDK's own, captured from temporalio 1.35 against each situation.
"""

from __future__ import annotations

import pytest

from starter.client import ServiceUnavailable
from starter.connection import unreachable_reason

REFUSED = (
    "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
    'ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: '
    'ConnectionRefused, message: "Connection refused" })))'
)
UNKNOWN_HOST = (
    "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
    'ConnectError(ConnectError("dns error", Custom { kind: Uncategorized, error: "failed to '
    'lookup address information: Name or service not known" })))'
)
NOT_TEMPORAL_HTTP = (
    "Failed client connect: `get_system_info` call error after connection: Status { code: "
    'Unimplemented, message: "grpc-status header missing, mapped from HTTP status code 404", '
    'metadata: MetadataMap { headers: {"server": "keryx"} }, source: None }'
)
NOT_TEMPORAL_POSTGRES = (
    "Failed client connect: `get_system_info` call error after connection: Status { code: "
    'Unknown, message: "transport error", source: Some(tonic::transport::Error(Transport, '
    'hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a broken '
    'pipe" }))) }'
)
# With TLS: a server that ended the handshake after the client finished it (TLS 1.3, no
# client certificate), and a plain-text server answering a TLS client.
CLOSED_AFTER_HANDSHAKE = (
    "Failed client connect: `get_system_info` call error after connection: Status { code: "
    'Cancelled, message: "operation was canceled", source: Some(tonic::transport::Error('
    'Transport, hyper::Error(Canceled, "connection closed"))) }'
)
CLOSED_WITHOUT_NOTIFY = (
    "Failed client connect: `get_system_info` call error after connection: Status { code: "
    'Unknown, message: "transport error", source: Some(tonic::transport::Error(Transport, '
    'hyper::Error(Io, Custom { kind: UnexpectedEof, error: "peer closed connection without '
    'sending TLS close_notify" }))) }'
)
PLAIN_SERVER = (
    "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
    "ConnectError(Custom { kind: InvalidData, error: InvalidMessage(InvalidContentType) }))"
)
# An RPCError's message after the server went away between two calls.
LOST_MID_CALL = "tcp connect error"


@pytest.mark.parametrize(
    ("sdk_text", "reason"),
    [
        (REFUSED, "connection refused"),
        (UNKNOWN_HOST, "unknown host"),
        (NOT_TEMPORAL_HTTP, "something answers there, but it is not a Temporal server"),
        (NOT_TEMPORAL_POSTGRES, "something answers there, but it is not a Temporal server"),
        (LOST_MID_CALL, "could not connect"),
        ("Deadline exceeded", "no answer in time"),
        ("", "could not connect"),
    ],
)
def test_the_sdk_error_becomes_its_cause(sdk_text: str, reason: str):
    assert unreachable_reason(RuntimeError(sdk_text)) == reason


@pytest.mark.parametrize(
    ("sdk_text", "reason"),
    [
        (CLOSED_AFTER_HANDSHAKE, "the server closed the secure connection"),
        (CLOSED_WITHOUT_NOTIFY, "the server closed the secure connection"),
        (PLAIN_SERVER, "the server answered without TLS"),
        (REFUSED, "connection refused"),
        # Over TLS an unanswered first call may as well be a client certificate refused
        # after the handshake (TLS 1.3) as a server that is not Temporal's.
        (NOT_TEMPORAL_HTTP, "the first call over the secure connection was not answered"),
    ],
)
def test_over_tls_the_sdk_error_becomes_its_cause(sdk_text: str, reason: str):
    assert unreachable_reason(RuntimeError(sdk_text), secured=True) == reason


def test_the_refusal_is_one_line_saying_what_to_do():
    message = ServiceUnavailable("localhost:7233", RuntimeError(REFUSED)).message
    assert message == (
        "Cannot reach Temporal at localhost:7233 (connection refused); start it with "
        "`support-provision dev` or set TEMPORAL_ADDRESS."
    )
