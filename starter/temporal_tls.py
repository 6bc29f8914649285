"""How the service reaches Temporal securely: TLS, mutual TLS or a Temporal Cloud API key.

A landlord's Temporal is rarely on the same host as its workers. The frontend is then
reached over TLS (a server certificate signed by the landlord's CA, or a public one),
often with a client certificate (mutual TLS) or, on Temporal Cloud, an API key. The
variables are those the `temporal` CLI reads, so one environment serves the workers, the
`support-provision` commands, the Python client and the CLI in the admin-tools jobs:

- `TEMPORAL_TLS_CERT`, `TEMPORAL_TLS_KEY`: paths of the client certificate and its key;
- `TEMPORAL_TLS_CA`: path of the CA that signed the server's certificate (system roots
  when unset);
- `TEMPORAL_TLS_SERVER_NAME`: the name the server's certificate is checked against (and
  sent as SNI), when it is not the host of `TEMPORAL_ADDRESS`;
- `TEMPORAL_TLS`: `true` for TLS with none of the above (system roots), `false` for a
  plain connection; unset means TLS exactly when any of the others is set;
- `TEMPORAL_API_KEY`: a Temporal Cloud API key; it implies TLS.

Everything is checked before connecting, so a half-made configuration is refused in one
line naming the variable, instead of surfacing later as a handshake failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.service import TLSConfig

if TYPE_CHECKING:
    from .settings import Settings

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})
MAX_PEM_BYTES = 1024 * 1024
"""A certificate chain or key is a few KiB; a larger file is the wrong one."""


VARIABLES = (
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CERT",
    "TEMPORAL_TLS_KEY",
    "TEMPORAL_TLS_CA",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_API_KEY",
)
"""Every variable this module reads; a deployment passes all of them through."""


class TemporalConnectionError(ValueError):
    """A connection configuration that cannot work; the message names the variable."""


@dataclass(frozen=True)
class TemporalConnection:
    """The secure-connection part of the settings, as the environment gives it."""

    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_server_name: str | None = None
    tls: str | None = None
    """`TEMPORAL_TLS` as written; read by `connect_options`, which refuses a typo."""
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TemporalConnection:
        """The connection the environment describes; empty values count as unset, so a
        compose file can pass every variable through whether or not it is set."""

        def text(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        def path(name: str) -> Path | None:
            value = text(name)
            return Path(value).expanduser() if value else None

        return cls(
            tls_cert=path("TEMPORAL_TLS_CERT"),
            tls_key=path("TEMPORAL_TLS_KEY"),
            tls_ca=path("TEMPORAL_TLS_CA"),
            tls_server_name=text("TEMPORAL_TLS_SERVER_NAME"),
            tls=text("TEMPORAL_TLS"),
            api_key=text("TEMPORAL_API_KEY"),
        )

    def describe(self) -> str:
        """A few words for a log line: how the connection is secured, never a secret."""
        options = connection_options(self)
        tls = options["tls"]
        if tls is False:
            kind = "plain"
        elif isinstance(tls, TLSConfig) and tls.client_cert:
            kind = "mutual TLS"
        else:
            kind = "TLS"
        return f"{kind}, API key" if options["api_key"] else kind


def connect_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `Client.connect` for `settings.connection` (`tls` and
    `api_key`); refused with `TemporalConnectionError` when they cannot work."""
    return connection_options(settings.connection)


def connection_options(connection: TemporalConnection) -> dict[str, Any]:
    """`connect_options` for a `TemporalConnection` alone."""
    certificate_named = any(
        (connection.tls_cert, connection.tls_key, connection.tls_ca, connection.tls_server_name)
    )
    wanted = _tls_wanted(connection.tls)
    if wanted is False and certificate_named:
        named = _first_named(connection)
        raise TemporalConnectionError(
            f"TEMPORAL_TLS is false but {named} is set; unset one of them."
        )
    if (connection.tls_cert is None) != (connection.tls_key is None):
        given, missing = (
            ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
            if connection.tls_key is None
            else ("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CERT")
        )
        raise TemporalConnectionError(
            f"{given} is set but {missing} is not: mutual TLS needs the client certificate "
            "and its key."
        )
    api_key = connection.api_key
    if wanted is False:
        # As the `temporal` CLI allows: a plain connection to a local proxy that adds TLS.
        return {"tls": False, "api_key": api_key}
    if not (certificate_named or wanted or api_key):
        return {"tls": False, "api_key": None}
    tls = TLSConfig(
        server_root_ca_cert=_pem("TEMPORAL_TLS_CA", connection.tls_ca),
        domain=connection.tls_server_name,
        client_cert=_pem("TEMPORAL_TLS_CERT", connection.tls_cert),
        client_private_key=_pem("TEMPORAL_TLS_KEY", connection.tls_key),
    )
    return {"tls": tls, "api_key": api_key}


def _tls_wanted(text: str | None) -> bool | None:
    if text is None:
        return None
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise TemporalConnectionError(f'TEMPORAL_TLS is "{text}"; write true or false.')


def _first_named(connection: TemporalConnection) -> str:
    for name, value in (
        ("TEMPORAL_TLS_CERT", connection.tls_cert),
        ("TEMPORAL_TLS_KEY", connection.tls_key),
        ("TEMPORAL_TLS_CA", connection.tls_ca),
        ("TEMPORAL_TLS_SERVER_NAME", connection.tls_server_name),
    ):
        if value:
            return name
    return "a TLS option"


def _pem(variable: str, path: Path | None) -> bytes | None:
    """The PEM text of a certificate or key file; refused in one line when the file
    cannot be read or holds something else (a DER file, a directory, the wrong path)."""
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_PEM_BYTES:
            raise TemporalConnectionError(
                f"{variable} names {path}, which is larger than a certificate or key."
            )
        data = path.read_bytes()
    except OSError as error:
        raise TemporalConnectionError(
            f"{variable} names {path}, which cannot be read ({error.strerror or error})."
        ) from None
    if b"-----BEGIN " not in data:
        raise TemporalConnectionError(f"{variable} names {path}, which is not a PEM file.")
    return data
