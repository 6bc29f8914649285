"""The codec server on a real socket: it opens and seals payloads for holders of the token,
answers the UI's preflight from the UI's origin only, and refuses what is malformed or too
big in one short line, with nothing of the request in its answer or its log."""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from protection.codec import PayloadSealer
from protection.keys import KeyRing, generate_entry
from starter.codec_server import (
    MAX_BODY,
    MAX_PAYLOADS,
    CodecAccess,
    CodecServerError,
    check_origin,
    check_token,
    folder_token,
    serving,
)
from tests.sealed import ENCRYPTED_BASE64

TOKEN = "codec-test-token-0123456789"
UI = "http://localhost:8233"
SECRET = "arrears of 912.40 after a benefit sanction"


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


def as_json(*payloads: Payload) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def from_json(document: dict[str, Any]) -> list[Payload]:
    return [json_format.ParseDict(p, Payload()) for p in document["payloads"]]


@pytest.fixture
def ring() -> KeyRing:
    old = KeyRing.parse(generate_entry("old"))
    return old.rotated(generate_entry("new"))


@pytest.fixture
async def codec(ring: KeyRing) -> AsyncIterator[str]:
    async with serving(ring, CodecAccess.of(TOKEN, [UI]), port=0) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes | str) else {"json": body}
    async with http.post(url, headers=headers, **kwargs) as answer:
        text = await answer.text()
        shown = await answer.json() if answer.content_type == "application/json" else text
        return answer.status, shown, dict(answer.headers)


async def test_decode_opens_what_any_key_of_the_ring_sealed_and_encode_seals_with_the_active(
    codec: str, ring: KeyRing, http: aiohttp.ClientSession
):
    status, encoded, _ = await post(http, f"{codec}/encode", as_json(plain(SECRET)), BEARER)
    assert status == 200
    sealed = from_json(encoded)[0]
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == b"new"
    assert SECRET.encode() not in sealed.data

    old_ring = KeyRing(active="old", keys={"old": ring.keys["old"]})
    by_old_key = PayloadSealer(old_ring).seal(plain("sealed before the rotation"))
    never_sealed = plain("recorded before the codec")
    status, decoded, _ = await post(
        http, f"{codec}/decode", as_json(sealed, by_old_key, never_sealed), BEARER
    )
    assert status == 200
    assert from_json(decoded) == [
        plain(SECRET),
        plain("sealed before the rotation"),
        never_sealed,
    ]


async def test_a_payload_no_key_opens_comes_back_sealed_and_the_rest_open(
    codec: str, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
):
    foreign = PayloadSealer(KeyRing.parse(generate_entry("elsewhere"))).seal(plain(SECRET))
    mine = PayloadSealer(KeyRing.parse(generate_entry("elsewhere"))).seal(plain(SECRET))
    mine.metadata["encryption-key-id"] = b"new"  # a payload changed on the way
    ours = (await post(http, f"{codec}/encode", as_json(plain("opens")), BEARER))[1]
    caplog.set_level(logging.INFO, logger="support_provision.codec_server")
    status, decoded, _ = await post(
        http, f"{codec}/decode", as_json(foreign, mine, *from_json(ours)), BEARER
    )
    assert status == 200
    assert from_json(decoded) == [foreign, mine, plain("opens")]
    assert decoded["payloads"][0]["metadata"]["encoding"] == ENCRYPTED_BASE64
    (line,) = [r.getMessage() for r in caplog.records if r.name.endswith("codec_server")]
    assert line.startswith("POST decode 200 payloads=3 left_sealed=2 ")
    assert SECRET not in caplog.text and "elsewhere" not in caplog.text


async def test_the_token_is_needed_in_the_header_or_the_path(
    codec: str, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="support_provision.codec_server")
    body = as_json(plain("x"))
    answers = {
        "no token": await post(http, f"{codec}/decode", body),
        "wrong bearer": await post(
            http, f"{codec}/decode", body, {"Authorization": f"Bearer {TOKEN}x"}
        ),
        "not bearer": await post(http, f"{codec}/decode", body, {"Authorization": TOKEN}),
        "wrong path": await post(http, f"{codec}/{TOKEN[:-1]}/decode", body),
        "wrong bearer, right path": await post(
            http, f"{codec}/{TOKEN}/decode", body, {"Authorization": "Bearer nope"}
        ),
    }
    assert {what: status for what, (status, _, _) in answers.items()} == {
        "no token": 401,
        "wrong bearer": 403,
        "not bearer": 401,
        "wrong path": 403,
        "wrong bearer, right path": 403,
    }
    for what, (_, text, headers) in answers.items():
        assert isinstance(text, str) and len(text) < 100 and TOKEN not in text, what
        assert "Access-Control-Allow-Origin" not in headers, what
    for url, headers in [
        (f"{codec}/decode", BEARER),
        (f"{codec}/{TOKEN}/decode", {}),
        (f"{codec}/{TOKEN}/default/decode", {}),  # the CLI's {namespace} template
        (f"{codec}/default/decode", BEARER),
    ]:
        assert (await post(http, url, body, headers))[0] == 200, url
    assert TOKEN not in caplog.text


async def test_the_ui_origin_gets_its_preflight_and_answers_and_another_origin_nothing(
    codec: str, http: aiohttp.ClientSession
):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"}
    async with http.options(f"{codec}/{TOKEN}/decode", headers={"Origin": UI, **ask}) as ok:
        assert ok.status == 204
        assert ok.headers["Access-Control-Allow-Origin"] == UI
        assert ok.headers["Access-Control-Allow-Credentials"] == "true"
        assert set(ok.headers["Access-Control-Allow-Methods"].split(", ")) >= {"POST"}
        allowed = {h.strip().lower() for h in ok.headers["Access-Control-Allow-Headers"].split(",")}
        assert allowed == {"content-type", "x-namespace", "authorization"}
        assert "Origin" in ok.headers["Vary"]
    for origin in ("http://localhost:8234", "https://evil.example", "null", None):
        headers = {**ask, **({"Origin": origin} if origin else {})}
        async with http.options(f"{codec}/decode", headers=headers) as refused:
            assert refused.status == 403, origin
            assert not [h for h in refused.headers if h.lower().startswith("access-control")]

    body = as_json(plain("x"))
    status, _, headers = await post(
        http, f"{codec}/{TOKEN}/decode", body, {"Origin": UI, "X-Namespace": "default"}
    )
    assert status == 200 and headers["Access-Control-Allow-Origin"] == UI
    status, _, headers = await post(http, f"{codec}/decode", body, {"Origin": UI})
    assert status == 401 and headers["Access-Control-Allow-Origin"] == UI
    # The right token from another origin: refused, and nothing a page there could read.
    status, text, headers = await post(
        http, f"{codec}/{TOKEN}/encode", body, {"Origin": "https://evil.example"}
    )
    assert status == 403 and "payloads" not in text
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[1, 2]", 400, '{"payloads"'),
        (b'{"payloads": {"data": "eA=="}}', 400, '{"payloads"'),
        (b'{"payloads": ["eA=="]}', 400, '{"payloads"'),
        (b'{"payloads": [{"metadata": {"encoding": 7}}]}', 400, '{"payloads"'),
        (b'{"payloads": [{"data": "eA==", "unknown": 1}]}', 400, '{"payloads"'),
        (b"[" * 100_000 + b"]" * 100_000, 400, ""),
    ],
    ids=["not json", "a list", "not a list", "not objects", "bad metadata", "unknown", "deep"],
)
async def test_a_malformed_body_is_refused_in_one_short_line(
    codec: str, http: aiohttp.ClientSession, body: bytes, status: int, says: str
):
    answered, text, _ = await post(http, f"{codec}/decode", body, BEARER)
    assert answered == status
    assert says in text and "\n" not in text and len(text) < 100


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"metadata": {"encoding": "!!!"}, "data": "@@@"}, "payloads[1]: data is not base64"),
        ({"metadata": {"encoding": "!!!"}}, "payloads[1]: metadata.encoding is not base64"),
        ({"data": "eA=\n="}, "payloads[1]: data is not base64"),
        ({"data": "eA==eA=="}, "payloads[1]: data is not base64"),
        ({"data": "e"}, "payloads[1]: data is not base64"),
        ({"metadata": {"x" * 200: "é"}}, "payloads[1]: a metadata value is not base64"),
    ],
    ids=["the tester's", "metadata", "newline", "padding inside", "one character", "long key"],
)
async def test_a_payload_that_is_not_base64_is_refused_by_payload_and_field(
    codec: str, http: aiohttp.ClientSession, payload: dict[str, Any], says: str
):
    """protobuf's reader drops what base64 does not know, so `@@@` used to be answered as a
    payload with no data at all; the UI would have shown it as empty."""
    body = {"payloads": [json_format.MessageToDict(plain("fine")), payload]}
    for operation in ("decode", "encode"):
        status, text, _ = await post(http, f"{codec}/{operation}", body, BEARER)
        assert (status, text) == (400, says)


async def test_base64_as_protobuf_writes_it_is_accepted_padded_or_not(
    codec: str, http: aiohttp.ClientSession
):
    padded = base64.b64encode(b'"\xfb\xff"').decode()
    url_safe = base64.urlsafe_b64encode(b'"\xfb\xff"').decode().rstrip("=")
    for data in (padded, url_safe, ""):
        payload = {"metadata": {"encoding": base64.b64encode(b"binary/plain").decode()}}
        status, decoded, _ = await post(
            http, f"{codec}/decode", {"payloads": [{**payload, "data": data}]}, BEARER
        )
        assert status == 200, decoded
        assert from_json(decoded)[0].data == (b'"\xfb\xff"' if data else b"")


async def test_bounds_on_the_number_of_payloads_and_the_size_of_the_body(
    codec: str, http: aiohttp.ClientSession
):
    small = json_format.MessageToDict(plain("x"))
    status, decoded, _ = await post(
        http, f"{codec}/decode", {"payloads": [small] * MAX_PAYLOADS}, BEARER
    )
    assert status == 200 and len(decoded["payloads"]) == MAX_PAYLOADS
    status, text, _ = await post(
        http, f"{codec}/decode", {"payloads": [small] * (MAX_PAYLOADS + 1)}, BEARER
    )
    assert status == 400 and "more than 1,000 payloads" in text

    big = base64.b64encode(b"\0" * (MAX_BODY * 3 // 4 + 10)).decode()
    status, text, _ = await post(http, f"{codec}/decode", {"payloads": [{"data": big}]}, BEARER)
    assert status == 413 and "4 MiB" in text

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"payloads": [{"data": "'
        for _ in range(5):
            yield b"A" * (1024 * 1024)
        yield b'"}]}'

    async with http.post(f"{codec}/decode", data=chunks(), headers=BEARER) as answer:
        assert answer.status == 413


async def test_health_needs_no_token_and_other_paths_and_methods_are_refused(
    codec: str, http: aiohttp.ClientSession
):
    async with http.get(f"{codec}/health") as health:
        assert health.status == 200 and await health.json() == {"status": "ok"}
    async with http.get(f"{codec}/{TOKEN}/decode") as wrong_method:
        assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    for path in ("/", "/payloads", f"/{TOKEN}/a/b/decode", "/decode/extra"):
        async with http.post(f"{codec}{path}", json={}, headers=BEARER) as missing:
            assert missing.status == 404, path


async def test_a_port_in_use_is_one_line(ring: KeyRing, codec: str):
    port = int(codec.rsplit(":", 1)[1])
    with pytest.raises(CodecServerError, match=f"cannot listen on 127.0.0.1:{port}"):
        async with serving(ring, CodecAccess.of(TOKEN, [UI]), port=port):
            pass


def test_tokens_and_origins_are_checked_before_the_server_starts():
    for bad in (None, "", "short", "has spaces in it, sixteen+", "slash/in/the/token/here"):
        with pytest.raises(CodecServerError):
            check_token(bad)
    assert check_token(TOKEN) == TOKEN
    assert TOKEN not in repr(CodecAccess.of(TOKEN, [UI]))
    assert check_origin("HTTP://LocalHost:8233/") == "http://localhost:8233"
    for bad in ("localhost:8233", "http://localhost:8233/ui", "ftp://x", "http://x/?a=1"):
        with pytest.raises(CodecServerError):
            check_origin(bad)


def test_the_folder_token_is_made_once_for_its_owner_only(tmp_path: Path):
    path = tmp_path / "codec-token"
    first = folder_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert folder_token(path) == first and check_token(first) == first
    path.chmod(0o644)
    with pytest.raises(CodecServerError, match="chmod 600"):
        folder_token(path)
