"""End to end: `support-provision dev` starts everything, keeps cases across a restart,
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import urllib.request
from pathlib import Path

from tests.e2e.cli import COMMAND, cli
from tests.smtp import free_port
from tests.waiting import eventually


async def start_dev(
    env: dict[str, str], port: int, ui_port: int
) -> tuple[asyncio.subprocess.Process, str]:
    """Start the dev stack and return once it says it is ready, with what it printed."""
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "dev",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed = ""
    while "Press Ctrl-C" not in printed:
        line = await asyncio.wait_for(process.stdout.readline(), 120)
        if not line:
            raise AssertionError(f"the dev stack exited before it was ready:\n{printed}")
        printed += line.decode()
    return process, printed


async def stop_dev(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_dev_stack_survives_restart_and_stops_cleanly(tmp_path: Path):
    port, ui_port = free_port(), free_port()
    env = {
        "SUPPORT_PROVISION_DATA": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": f"localhost:{port}",
        "SUPPORT_PROVISION_USER": "dev-e2e",
    }

    dev, _ = await start_dev(env, port, ui_port)
    try:
        started = await cli(
            "case",
            "start",
            "tenancy-sustainment-assessment",
            "--tenant",
            "TEN-DEV",
            "--case-ref",
            "DEV-1",
            "--json",
            env=env,
        )
        assert started.code == 0, started.stderr
        with urllib.request.urlopen(f"http://localhost:{ui_port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        output = await stop_dev(dev)
    assert "Stopped." in output
    assert (tmp_path / "data" / "temporal.db").exists()

    dev, _ = await start_dev(env, port, ui_port)
    try:
        shown = await cli("case", "show", "DEV-1", "--json", env=env)
        assert shown.code == 0, shown.stderr
        assert shown.json()["status"] == "open"
        assert shown.json()["tenant_ref"] == "TEN-DEV"
        listed = await eventually(lambda: _listed(env, "TEN-DEV"), timeout=30, interval=0.3)
        assert listed[0]["case_ref"] == "DEV-1"
    except BaseException:
        await stop_dev(dev)
        raise

    # Killed outright mid-case: the next start stops the server it left behind, and the
    # case carries on where it was.
    dev.kill()
    await dev.wait()
    dev, printed = await start_dev(env, port, ui_port)
    try:
        done = await cli(
            "case",
            "complete",
            "DEV-1",
            "initial-contact",
            "--outcome",
            "tenant-declined",
            "--field",
            "Contact method=Phone",
            "--field",
            "Date and time of contact=2026-11-24T10:00",
            env=env,
        )
        assert done.code == 0, done.stderr
    finally:
        output = await stop_dev(dev)
    assert "left running by an earlier dev stack" in printed + output


async def _listed(env: dict[str, str], tenant: str) -> list[dict[str, object]] | None:
    result = await cli("case", "list", "--tenant", tenant, "--json", env=env)
    return result.json() if result.code == 0 and result.json() else None
