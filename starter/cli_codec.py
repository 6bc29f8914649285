"""`support-provision codec-server`: decode payloads for the Temporal UI and CLI.

The server holds the payload key ring (`starter.payload_keys`) and answers only holders of
`SUPPORT_PROVISION_CODEC_TOKEN`, and browsers only from the UI's origins; see
`starter.codec_server` for what it answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Annotated

import typer

from protection.keys import KeyRingError

from .codec_server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_UI_ORIGIN,
    TOKEN_ENV,
    CodecAccess,
    CodecServerError,
    serving,
)
from .console import console, fail
from .payload_keys import PayloadKeysUnavailable
from .settings import Settings


def codec_server(
    host: Annotated[
        str,
        typer.Option(
            "--host", metavar="HOST", help="Address to listen on; keep it on loopback or a VPN."
        ),
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port to listen on.")
    ] = DEFAULT_PORT,
    ui_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--ui-origin",
            metavar="ORIGIN",
            help="A Temporal UI origin browsers may call from (repeat for several); "
            f"default {DEFAULT_UI_ORIGIN}.",
        ),
    ] = None,
) -> None:
    """Decode payloads for the Temporal UI and CLI (--codec-endpoint), for holders of
    SUPPORT_PROVISION_CODEC_TOKEN."""
    try:
        access = CodecAccess.of(os.environ.get(TOKEN_ENV), ui_origin or [DEFAULT_UI_ORIGIN])
        ring = Settings.from_env().key_ring()
    except (CodecServerError, KeyRingError, PayloadKeysUnavailable) as error:
        fail(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serving(ring, access, host=host, port=port) as url:
            console.print(f"Codec server:     {url} (keys {', '.join(ring.keys)})")
            console.print(f"UI origins:       {', '.join(sorted(access.origins))}")
            console.print(
                f"Temporal CLI:     --codec-endpoint {url} --codec-auth "
                f'"Bearer ${TOKEN_ENV}". Press Ctrl-C to stop.'
            )
            await stop.wait()

    try:
        asyncio.run(serve())
    except CodecServerError as error:
        fail(str(error))
    console.print("Codec server stopped.")


def register(app: typer.Typer) -> None:
    app.command("codec-server")(codec_server)
