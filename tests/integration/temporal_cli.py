"""The plain `temporal` CLI, as an operator types it, against the test session's server."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from starter.binaries import temporal_cli


async def temporal(client: Client, *args: str) -> None:
    """Run `temporal ARGS` on `client`'s server and namespace; fail with what it printed
    if it fails."""
    process = await asyncio.create_subprocess_exec(
        temporal_cli(),
        *args,
        "--address",
        client.service_client.config.target_host,
        "--namespace",
        client.namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (out + err).decode(errors="replace")
