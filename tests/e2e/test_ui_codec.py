"""The Temporal UI in a real headless browser: a sealed case's page shows its note through
the codec server, and ciphertext to a UI without it or refused by it.

Two Temporal dev servers with their UI: one started with `--ui-codec-endpoint` at a codec
server (the path form with the token, as the dev stack starts it), one without. The same
sealed case runs on each. The browser opens the event that records the completion with
the note, and waits for its details. Screenshots go to `test-artefacts/ui/` (or
`$TEST_ARTEFACTS/ui/`), which git ignores: they may show a case's words and are never
committed.

Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright; nothing is downloaded.
Without it the test skips, and fails under CI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from protection.codec import data_converter
from protection.keys import KeyRing
from starter.binaries import temporal_cli
from starter.codec_server import CodecAccess, serving
from starter.identities import IdentityHeaders
from tests import identities
from tests.sealed import ENCRYPTED_BASE64, IN_CLEAR, NOTE, SealedCase, new_ring, sealed_case
from tests.smtp import free_port
from workflows import search_attributes as sa

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
TOKEN = f"ui-test-{uuid.uuid4().hex}"
PAGE_TIMEOUT_MS = 60_000


def artefacts() -> Path:
    root = (
        os.environ.get("TEST_ARTEFACTS") or Path(__file__).resolve().parents[2] / "test-artefacts"
    )
    folder = Path(root) / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_chromium() -> None:
    missing = None
    if not CHROMIUM.exists() and not shutil.which(str(CHROMIUM)):
        missing = f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (make install)"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the UI test needs a browser under CI: {missing}")
    pytest.skip(missing)


@asynccontextmanager
async def dev_server_with_ui(
    ring: KeyRing, *extra: str
) -> AsyncIterator[tuple[WorkflowEnvironment, int]]:
    ui_port = free_port()
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(ring),
        dev_server_existing_path=temporal_cli(),
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-disable-news-fetch", *extra],
        interceptors=[IdentityHeaders(identities.suite_signer())],
    )
    try:
        yield env, ui_port
    finally:
        await env.shutdown()


def event_page(ui_port: int, case: SealedCase) -> str:
    return (
        f"http://localhost:{ui_port}/namespaces/default/workflows/{case.workflow_id}/"
        f"{case.run_id}/history/events/{case.update_event}"
    )


async def test_the_case_page_shows_the_note_through_the_codec_server_and_ciphertext_without(
    app_sessions: async_sessionmaker[AsyncSession],
):
    require_chromium()
    from playwright.async_api import async_playwright, expect

    ring = new_ring()
    codec_port = free_port()
    endpoint = f"http://127.0.0.1:{codec_port}/{TOKEN}"
    folder = artefacts()
    async with (
        dev_server_with_ui(ring, "--ui-codec-endpoint", endpoint) as (with_codec, codec_ui),
        dev_server_with_ui(ring) as (without_codec, plain_ui),
    ):
        ref = f"UI-{uuid.uuid4().hex[:8]}"  # one register: a case ref of its own on each
        cases = await asyncio.gather(
            sealed_case(with_codec.client, f"tq-{uuid.uuid4()}", app_sessions, f"{ref}-A"),
            sealed_case(without_codec.client, f"tq-{uuid.uuid4()}", app_sessions, f"{ref}-B"),
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:

                async def view(url: str, wait_for: str, shot: str) -> str:
                    """Open the event's page afresh, wait for `wait_for` in its details,
                    keep a screenshot; the page's text."""
                    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
                    try:
                        page = await context.new_page()
                        await page.goto(url, timeout=PAGE_TIMEOUT_MS)
                        body = page.locator("body")
                        await expect(body).to_contain_text(
                            wait_for, use_inner_text=True, timeout=PAGE_TIMEOUT_MS
                        )
                        await page.screenshot(path=str(folder / shot), full_page=True)
                        return await body.inner_text()
                    finally:
                        await context.close()

                access = CodecAccess.of(TOKEN, [f"http://localhost:{codec_ui}"])
                async with serving(ring, access, port=codec_port):
                    decoded = await view(
                        event_page(codec_ui, cases[0]), NOTE, "case-decoded-through-codec.png"
                    )
                wrong = CodecAccess.of(f"{TOKEN}-revoked", [f"http://localhost:{codec_ui}"])
                async with serving(ring, wrong, port=codec_port):
                    refused = await view(
                        event_page(codec_ui, cases[0]),
                        ENCRYPTED_BASE64,
                        "case-encoded-codec-refused.png",
                    )
                without = await view(
                    event_page(plain_ui, cases[1]),
                    ENCRYPTED_BASE64,
                    "case-encoded-without-codec.png",
                )
            finally:
                await browser.close()

    assert NOTE in decoded and ENCRYPTED_BASE64 not in decoded
    for shown in (refused, without):
        assert ENCRYPTED_BASE64 in shown
        assert [w for w in IN_CLEAR if w in shown] == []
    for shot in ("decoded-through-codec", "encoded-codec-refused", "encoded-without-codec"):
        assert (folder / f"case-{shot}.png").stat().st_size > 10_000
