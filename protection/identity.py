"""Identity tokens: who makes a request, signed so that no caller can claim to be another.

A token is a set of claims about one identity, signed with HMAC-SHA256 under a key of an
identity key ring (`protection.keys.KeyRing`: the active key signs, every key verifies):

    spi1.<key id>.<claims, base64url JSON>.<signature, base64url>

The signature covers everything before it, so the key id cannot be swapped either. The
claims are computed from the directory when the token is issued (`starter.identities`),
so the worker that verifies a token needs no database: it trusts what the key holder
signed, until the token expires.

| Claim | What |
| --- | --- |
| `sub` | the directory id: a person, a service (system) or a partner agency |
| `kind` | `person`, `service` or `agency` |
| `name` | the name people read in a refusal |
| `roles`, `team` | of a person: what they own work as |
| `manages` | every id the identity answers for as a manager or team leader |
| `agency` | of a partner agency: the owner id its tasks carry |
| `tasks` | of a service: the task ids it may complete (`*`: any) |
| `grants` | permissions held on every case (`open-case`, and a service's `may`) |
| `iat`, `exp` | issued at and expiry, whole seconds since the epoch (UTC) |
| `aud` | the case the token is for (its reference) |
| `jti` | the token's own id, so that a case takes it once |

A token is for one request to one case (`aud`, `jti`): whoever can read a case's history
reads the headers of its requests, and a token that any request to any case would take
could be lifted from there and sent again as its signer, for as long as it lives. A case
takes a token only for itself and only once (`casemodel.intake`).

Bounded, so a token can never be a way to wedge a case: at most `TOKEN_BYTES`, claim
lists at most `LIST_LIMIT` ids (`manages`: `MANAGES_LIMIT`), a life of at most
`MAX_LIFETIME`. Verification takes the time it is asked at, so a workflow verifies with
its own deterministic clock and a replay gives the same answer.

Whoever holds a signing key can mint any identity: keep the ring on the service's hosts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .keys import KeyRing

VERSION = "spi1"
HEADER = "support-provision-identity"
"""The Temporal header that carries a token on start, update and signal."""
TOKEN_BYTES = 16 * 1024
LIST_LIMIT = 200
MANAGES_LIMIT = 400
TEXT_LIMIT = 200
MAX_LIFETIME = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the verifier's clock a token may say it was issued."""
KINDS = ("person", "service", "agency")

_ID = re.compile(r"[A-Za-z0-9*][A-Za-z0-9._@*/-]{0,199}")
_PART = re.compile(r"[A-Za-z0-9_-]+")
_JTI = re.compile(r"[A-Za-z0-9_-]{16,64}")
_FIELDS = {
    "sub",
    "kind",
    "name",
    "roles",
    "team",
    "manages",
    "agency",
    "tasks",
    "grants",
    "iat",
    "exp",
    "aud",
    "jti",
}


class IdentityRefused(ValueError):
    """A token that does not establish an identity; `reason` is one of `missing`,
    `malformed`, `unknown-key`, `bad-signature`, `expired`, and the message says it in
    words (never a key's bytes, never more than an excerpt of what was sent)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Identity:
    """Verified claims: who made a request, and what they answer for."""

    sub: str
    kind: str
    name: str
    roles: tuple[str, ...] = ()
    team: str | None = None
    manages: tuple[str, ...] = ()
    agency: str | None = None
    tasks: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()
    iat: int = 0
    exp: int = 0
    aud: str | None = None
    """The case reference the token is for; None in tokens from before (and the one
    `whoami` shows), which a case on today's rules refuses."""
    jti: str | None = None
    """The token's id: a case takes each once."""
    key_id: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """How a message names it: `tom-bennett (Tom Bennett)`."""
        return self.sub if self.name in ("", self.sub) else f"{self.sub} ({self.name})"

    def directory_claims(self) -> dict[str, Any]:
        """Who this is and what they answer for, as the directory says (empty claims left
        out), without the claims of a token (`iat`, `exp`, `aud`, `jti`): those exist once
        a token is issued, and an identity read from the directory has none yet."""
        found: dict[str, Any] = {"sub": self.sub, "kind": self.kind, "name": self.name}
        for name in ("roles", "manages", "tasks", "grants"):
            if getattr(self, name):
                found[name] = list(getattr(self, name))
        for name in ("team", "agency"):
            if getattr(self, name) is not None:
                found[name] = getattr(self, name)
        return found

    def claims(self) -> dict[str, Any]:
        """The claims as a token carries them (empty ones left out)."""
        found = self.directory_claims()
        found["iat"], found["exp"] = self.iat, self.exp
        for name in ("aud", "jti"):
            if getattr(self, name) is not None:
                found[name] = getattr(self, name)
        return found


def issue(
    ring: KeyRing,
    identity: Identity,
    *,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=15),
    aud: str | None = None,
    jti: str | None = None,
) -> str:
    """A token for `identity`'s claims, issued `now` for `lifetime`, for the case `aud`
    once (`jti`), signed with the ring's active key; refused (`IdentityRefused`,
    `malformed`) when the claims break the bounds a verifier keeps."""
    iat = int(now.timestamp())
    identity = replace(
        identity,
        manages=tuple(sorted(set(identity.manages))),
        iat=iat,
        exp=iat + int(lifetime.total_seconds()),
        aud=aud,
        jti=jti,
    )
    _check(identity.claims())
    body = _b64(json.dumps(identity.claims(), sort_keys=True, separators=(",", ":")).encode())
    signed = f"{VERSION}.{ring.active}.{body}"
    token = f"{signed}.{_b64(_sign(ring.active_key, signed))}"
    if len(token) > TOKEN_BYTES:
        raise IdentityRefused(
            "malformed",
            f"the identity of {identity.sub} is {len(token):,} bytes signed, more than a token "
            f"may be ({TOKEN_BYTES:,}); it answers for too many ids",
        )
    return token


def verify(ring: KeyRing, token: object, now: datetime) -> Identity:
    """The identity `token` establishes at `now`, or `IdentityRefused` saying why."""
    if token is None or token == "":
        raise IdentityRefused("missing", "the request carries no identity token")
    if not isinstance(token, str):
        raise IdentityRefused("malformed", "the identity token is not text")
    if len(token) > TOKEN_BYTES:
        raise IdentityRefused(
            "malformed", f"the identity token is longer than {TOKEN_BYTES:,} bytes"
        )
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise IdentityRefused(
            "malformed", f"the identity token is not a {VERSION} token (four parts, dot-separated)"
        )
    _, key_id, body, signature = parts
    key = ring.key(key_id)
    if key is None:
        raise IdentityRefused(
            "unknown-key",
            f'the identity token is signed with the key "{key_id[:64]}", which this worker '
            "does not hold",
        )
    if not _PART.fullmatch(signature) or not _PART.fullmatch(body):
        raise IdentityRefused("malformed", "the identity token is not base64url")
    expected = _sign(key, f"{VERSION}.{key_id}.{body}")
    sent = _unb64(signature)
    if _b64(sent) != signature:  # unused low bits set: the same bytes, written otherwise
        raise IdentityRefused("malformed", "the identity token is not canonical base64url")
    if not hmac.compare_digest(sent, expected):
        raise IdentityRefused(
            "bad-signature", "the identity token's signature does not match: it was changed"
        )
    try:
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        raise IdentityRefused("malformed", "the identity token's claims are not JSON") from None
    _check(claims)
    identity = Identity(
        sub=claims["sub"],
        kind=claims["kind"],
        name=claims["name"],
        roles=tuple(claims.get("roles", ())),
        team=claims.get("team"),
        manages=tuple(claims.get("manages", ())),
        agency=claims.get("agency"),
        tasks=tuple(claims.get("tasks", ())),
        grants=tuple(claims.get("grants", ())),
        iat=claims["iat"],
        exp=claims["exp"],
        aud=claims.get("aud"),
        jti=claims.get("jti"),
        key_id=key_id,
    )
    at = int(now.timestamp())
    if at >= identity.exp:
        expired = datetime.fromtimestamp(identity.exp, UTC).isoformat(timespec="seconds")
        raise IdentityRefused(
            "expired", f"the identity token of {identity.sub} expired at {expired}"
        )
    if identity.iat > at + CLOCK_SKEW.total_seconds():
        raise IdentityRefused(
            "malformed", f"the identity token of {identity.sub} says it was issued in the future"
        )
    return identity


def _check(claims: Any) -> None:
    """Refuse claims out of shape or bounds (`malformed`), whoever signed them."""

    def bad(why: str) -> IdentityRefused:
        return IdentityRefused("malformed", f"the identity token's claims are not valid: {why}")

    if not isinstance(claims, dict):
        raise bad("not a JSON object")
    unknown = sorted(set(claims) - _FIELDS)
    if unknown:
        raise bad(f"unknown claim {unknown[0][:40]!r}")
    for name in ("sub", "kind", "name"):
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > TEXT_LIMIT:
            raise bad(f"{name} must be text of 1 to {TEXT_LIMIT} characters")
        if not value.isprintable():
            raise bad(f"{name} contains a control character")
    if not _ID.fullmatch(claims["sub"]):
        raise bad("sub is not a directory id")
    if claims["kind"] not in KINDS:
        raise bad(f"kind must be one of {', '.join(KINDS)}")
    for name in ("team", "agency"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, str) or not _ID.fullmatch(value)):
            raise bad(f"{name} is not a directory id")
    for name in ("roles", "manages", "tasks", "grants"):
        values = claims.get(name, [])
        limit = MANAGES_LIMIT if name == "manages" else LIST_LIMIT
        if not isinstance(values, list) or len(values) > limit:
            raise bad(f"{name} must be a list of at most {limit} ids")
        if not all(isinstance(v, str) and _ID.fullmatch(v) for v in values):
            raise bad(f"{name} holds something that is not a directory id")
    for name in ("iat", "exp"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**40:
            raise bad(f"{name} must be whole seconds since 1970")
    aud, jti = claims.get("aud"), claims.get("jti")
    # Any text a case reference could be sent as: the case itself judges its reference.
    if aud is not None and (
        not isinstance(aud, str)
        or not 0 < len(aud) <= TEXT_LIMIT
        or any(ord(c) < 32 or ord(c) == 127 for c in aud)
    ):
        raise bad(f"aud must be a case reference of 1 to {TEXT_LIMIT} characters")
    if jti is not None and (not isinstance(jti, str) or not _JTI.fullmatch(jti)):
        raise bad("jti must be 16 to 64 base64url characters")
    lifetime = claims["exp"] - claims["iat"]
    if not 0 < lifetime <= MAX_LIFETIME.total_seconds():
        raise bad(f"a token lives at most {MAX_LIFETIME.total_seconds() / 3600:.0f} hours")


def _sign(key: bytes, signed: str) -> bytes:
    return hmac.new(key, f"support-provision identity|{signed}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise IdentityRefused("malformed", "the identity token is not base64url") from None
