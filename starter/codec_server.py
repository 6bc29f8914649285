"""The codec server: the Temporal UI and the `temporal` CLI read sealed payloads through it.

Temporal stores only ciphertext (see `protection.codec`). A person who may read a case
points their UI or CLI at this server, which holds the key ring and answers Temporal's
codec protocol: `POST …/decode` and `POST …/encode`, each taking and returning
`{"payloads": [{"metadata": {name: base64}, "data": base64}]}` (a `Payloads` message in
protobuf's JSON). Only the last part of the path names the operation, so the server may
sit under any prefix.

Who may ask:

- **The shared token** (`SUPPORT_PROVISION_CODEC_TOKEN`), as `Authorization: Bearer
  <token>` (the CLI's `--codec-auth`) or as the first part of the path
  (`http://127.0.0.1:8234/<token>/decode`), because the browser UI sends no header of its
  own unless it passes its OIDC access token. Compared in constant time. Missing: 401;
  wrong: 403.
- **Browsers only from the UI's origins** (`--ui-origin`): a preflight from another origin,
  or a request carrying another `Origin`, is refused with 403 and no CORS headers, so a
  page elsewhere can neither read an answer nor make the server seal or open anything.
  Requests without `Origin` (the CLI, scripts) are not browsers and pass to the token.

What it answers: a body over 4 MiB is refused with 413, more than 1,000 payloads or a
body that is not that JSON with 400 and one short line; so is a payload whose data or
metadata is not base64 (the line names the payload and the field: protobuf's own reader
would drop every character it does not know and the answer would come back mangled). A
payload sealed with a key this ring lacks, or changed on the way, comes back as it came
(still sealed, marked `binary/encrypted`), and the others in the same request open: the UI
shows what it gets, so one unreadable payload leaves one field encoded rather than a whole
history. Payloads that were never sealed pass through. One log line per request, without
payloads or the path's token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from protection.codec import PayloadSealer, SealError
from protection.keys import KeyRing

TOKEN_ENV = "SUPPORT_PROVISION_CODEC_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8234
DEFAULT_UI_ORIGIN = "http://localhost:8233"
MAX_BODY = 4 * 1024 * 1024
MAX_PAYLOADS = 1_000
MIN_TOKEN = 16
TOKEN = re.compile(r"[A-Za-z0-9._~-]+")
"""A token travels in a URL path, so only characters a path carries unescaped."""
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
ALLOWED_METHODS = "POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"
OPERATIONS = ("decode", "encode")
SHAPE = 'the body is not {"payloads": [{"metadata": {...}, "data": "<base64>"}]}'
SHOWN_KEY = re.compile(r"[A-Za-z0-9._-]{1,40}")
"""A metadata key a refusal may name (`encoding`): one that cannot carry much of the request."""
_URL_SAFE = str.maketrans("-_", "+/")

log = logging.getLogger("support_provision.codec_server")


class CodecServerError(ValueError):
    """The codec server cannot start as configured: one line saying what to change."""


def check_token(token: str | None) -> str:
    """The shared token, refused when missing, short or not fit for a URL path."""
    if not token:
        raise CodecServerError(
            f"Set {TOKEN_ENV} to the codec server's shared token (at least {MIN_TOKEN} "
            "characters), e.g. `export "
            f"{TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')`."
        )
    if len(token) < MIN_TOKEN or not TOKEN.fullmatch(token):
        raise CodecServerError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN} characters of letters, digits and "
            ". _ ~ - (it may travel in a URL path)."
        )
    return token


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_origin(origin: str) -> str:
    """A browser origin as a browser sends it: scheme, host and port, no path."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise CodecServerError(
            f'"{origin}" is not a UI origin; write it as scheme://host[:port], '
            "e.g. http://localhost:8233."
        )
    if parts.query or parts.fragment:
        raise CodecServerError(f'"{origin}" is not a UI origin: it has a query or fragment.')
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class CodecAccess:
    """Who may use the server: the shared token, and the browser origins of the UI."""

    token: str = field(repr=False)  # never in a log line or a traceback
    origins: frozenset[str] = frozenset()

    @classmethod
    def of(cls, token: str | None, origins: Iterable[str]) -> CodecAccess:
        return cls(check_token(token), frozenset(check_origin(o) for o in origins))

    def allows_origin(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins

    def token_matches(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.token.encode())


@dataclass
class _Outcome:
    """What one request did, for its log line."""

    operation: str = "-"
    payloads: int = 0
    left_sealed: int = 0


OUTCOME = web.RequestKey("outcome", _Outcome)


def build_app(ring: KeyRing, access: CodecAccess) -> web.Application:
    """The codec server's application: health, preflights, decode and encode."""
    sealer = PayloadSealer(ring)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_middleware(access)])

    async def route(request: web.Request) -> web.StreamResponse:
        outcome = request[OUTCOME]
        segments = [s for s in request.path.split("/") if s]
        if segments == ["health"]:
            if request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):
                raise _Refused(405, "use GET", allow="GET, HEAD")
            outcome.operation = "health"
            return web.json_response({"status": "ok"})
        if not segments or segments[-1] not in OPERATIONS or len(segments) > 3:
            raise _Refused(404, "not found: POST …/decode or …/encode")
        outcome.operation = segments[-1]
        if request.method == hdrs.METH_OPTIONS:
            return _preflight(request, access)
        if request.method != hdrs.METH_POST:
            raise _Refused(405, "use POST", allow=ALLOWED_METHODS)
        _check_access(request, access, prefix=segments[:-1])
        payloads = await _read_payloads(request)
        outcome.payloads = len(payloads)
        if outcome.operation == "encode":
            answered = [sealer.seal(p) for p in payloads]
        else:
            answered = []
            for payload in payloads:
                try:
                    answered.append(sealer.open(payload))
                except SealError:
                    outcome.left_sealed += 1
                    answered.append(payload)
        return web.json_response({"payloads": [json_format.MessageToDict(p) for p in answered]})

    app.router.add_route("*", "/{path:.*}", route)
    return app


def _middleware(access: CodecAccess) -> Any:
    """CORS headers for the UI's origins on every answer (refusals too, so the UI can
    tell a refusal from a network failure), none for any other origin; one log line."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.monotonic()
        outcome = request[OUTCOME] = _Outcome()
        origin = request.headers.get(hdrs.ORIGIN)
        try:
            if origin is not None and not access.allows_origin(origin):
                raise _Refused(403, "this origin may not use the codec server")
            response = await handler(request)
        except _Refused as refused:
            response = refused.response()
        if access.allows_origin(origin):
            assert origin is not None
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        response.headers[hdrs.VARY] = hdrs.ORIGIN
        response.headers["Cache-Control"] = "no-store"
        log.info(
            "%s %s %s payloads=%d left_sealed=%d origin=%s %.1fms",
            request.method,
            outcome.operation,
            response.status,
            outcome.payloads,
            outcome.left_sealed,
            (origin or "-")[:100],
            (time.monotonic() - started) * 1000,
        )
        return response

    return middleware


def _preflight(request: web.Request, access: CodecAccess) -> web.Response:
    # The middleware has refused other origins already; a preflight carries no token.
    if not access.allows_origin(request.headers.get(hdrs.ORIGIN)):
        raise _Refused(403, "a preflight needs the UI's Origin")
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: ALLOWED_METHODS,
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
            hdrs.ACCESS_CONTROL_MAX_AGE: PREFLIGHT_MAX_AGE,
        },
    )


def _check_access(request: web.Request, access: CodecAccess, *, prefix: list[str]) -> None:
    """The header decides when it is there; else the path's first part is the token."""
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is not None:
        scheme, _, offered = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not offered.strip():
            raise _Refused(401, "send Authorization: Bearer <token>")
        if not access.token_matches(offered.strip()):
            raise _Refused(403, "the token is not accepted")
        return
    if not prefix:
        raise _Refused(401, "a token is needed: Authorization: Bearer <token>, or /<token>/…")
    if not access.token_matches(prefix[0]):
        raise _Refused(403, "the token is not accepted")


async def _read_payloads(request: web.Request) -> list[Payload]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _Refused(413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MiB")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:  # a chunked body with no length given
        raise _Refused(413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MiB") from None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads", []), list):
        raise _Refused(400, SHAPE)
    items = document.get("payloads", [])
    if len(items) > MAX_PAYLOADS:
        raise _Refused(400, f"more than {MAX_PAYLOADS:,} payloads in one request")
    payloads = []
    for index, item in enumerate(items):
        payload = Payload()
        try:
            if not isinstance(item, dict):
                raise TypeError
            _check_base64(index, item)
            json_format.ParseDict(item, payload)
        except (json_format.ParseError, TypeError, ValueError, RecursionError):
            raise _Refused(400, SHAPE) from None
        payloads.append(payload)
    return payloads


def _check_base64(index: int, item: dict[str, Any]) -> None:
    """Refuse a payload whose data or a metadata value is text but not base64, naming
    the payload and the field; what is not text at all is left to the shape check."""
    fields: list[tuple[str, Any]] = [("data", item.get("data"))]
    metadata = item.get("metadata")
    if isinstance(metadata, dict):
        fields += [
            (f"metadata.{key}" if SHOWN_KEY.fullmatch(key) else "a metadata value", value)
            for key, value in metadata.items()
        ]
    for name, value in fields:
        if isinstance(value, str) and not _is_base64(value):
            raise _Refused(400, f"payloads[{index}]: {name} is not base64")


def _is_base64(text: str) -> bool:
    """Whether ``text`` is bytes as protobuf's JSON writes them: the standard or the
    URL-safe alphabet, padded or not, and nothing else."""
    padded = text.translate(_URL_SAFE) + "=" * (-len(text) % 4)
    try:
        base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class _Refused(Exception):
    """A refusal: its status and one short line of text, never anything of the request's."""

    def __init__(self, status: int, message: str, *, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow

    def response(self) -> web.Response:
        headers = {hdrs.ALLOW: self.allow} if self.allow else None
        return web.Response(status=self.status, text=self.message, headers=headers)


@asynccontextmanager
async def serving(
    ring: KeyRing, access: CodecAccess, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> AsyncIterator[str]:
    """Run the codec server until the block ends; yields its base URL (port 0: any free
    port, the one bound is in the URL)."""
    runner = web.AppRunner(build_app(ring, access), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise CodecServerError(
                f"The codec server cannot listen on {host}:{port}: {error.strerror or error}; "
                "choose another port."
            ) from None
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{bound}"
    finally:
        await runner.cleanup()


def folder_token(path: Path) -> str:
    """The shared token kept in `path` (the dev stack's, one per data folder), made on
    first use readable by its owner only; refused when others may read it."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CodecServerError(
                f"{path} may be read by others than its owner (mode {stat.S_IMODE(mode):o}); "
                "chmod 600 it"
            ) from None
        return check_token(path.read_text(encoding="utf-8").strip())
    token = new_token()
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token
