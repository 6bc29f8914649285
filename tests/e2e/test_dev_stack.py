"""End to end: `support-provision dev` starts everything (its UI decoding through its codec
server), keeps cases across a restart, keeps its state in one place whatever folder it and
the commands run from, allows one stack per data folder, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from activities.database.settings import data_dir
from starter.stack_lock import command_line, is_running
from tests.e2e.cli import COMMAND, cli
from tests.smtp import free_port
from tests.waiting import eventually


async def start_dev(
    env: dict[str, str],
    port: int,
    ui_port: int,
    cwd: Path | None = None,
    *,
    codec_port: int | None = None,
) -> tuple[asyncio.subprocess.Process, str]:
    """Start the dev stack and return once it says it is ready, with what it printed."""
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "dev",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--codec-port",
        str(codec_port or free_port()),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
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


async def test_dev_stack_survives_restart_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    # No SUPPORT_PROVISION_DATA, no TEMPORAL_ADDRESS: the stack and the commands find the
    # user's data folder, here under a home folder of the test's own, and the commands
    # find the stack running on it, on the ports it was started with.
    home = tmp_path / "home"
    env = {
        "SUPPORT_PROVISION_DATA": "",
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "TEMPORAL_ADDRESS": "",
        "TEMPORAL_UI_URL": "",
        "SUPPORT_PROVISION_USER": "marcus-reid",
        # No payload keys configured: the stack makes its own key file on its first run,
        # and the commands find it in the data folder.
        "SUPPORT_PROVISION_PAYLOAD_KEYS": "",
        "SUPPORT_PROVISION_PAYLOAD_KEY_FILE": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = data_dir()
    assert home in data.parents
    stack_folder, elsewhere = tmp_path / "stack", tmp_path / "elsewhere"
    stack_folder.mkdir()
    elsewhere.mkdir()

    dev, printed = await start_dev(env, port, ui_port, cwd=stack_folder, codec_port=codec_port)
    keys = data / "payload-keys"
    assert f"Payload keys:     created {keys} (key k1, mode 600)" in printed, printed
    assert keys.stat().st_mode & 0o777 == 0o600
    written = keys.read_text()
    try:
        await _codec_server_serves_the_ui(data, printed, ui_port, codec_port)
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
            cwd=elsewhere,
        )
        assert started.code == 0, started.stderr
        assert started.json()["url"].startswith(f"http://localhost:{ui_port}/")
        listed = await eventually(
            lambda: _listed(env, "TEN-DEV", elsewhere), timeout=30, interval=0.3
        )
        assert listed[0]["case_ref"] == "DEV-1"

        # A second stack on the same data folder, even on other ports, is refused and
        # names the first, which carries on.
        second = await cli(
            "dev", "--port", str(free_port()), "--ui-port", str(free_port()), env=env, cwd=elsewhere
        )
        assert second.code == 1
        assert second.stderr.count("\n") == 1, second.stderr
        assert f"pid {dev.pid}" in second.stderr and f"localhost:{port}" in second.stderr
        assert f"http://localhost:{ui_port}" in second.stderr
        shown = await cli("case", "show", "DEV-1", "--json", env=env, cwd=elsewhere)
        assert shown.code == 0, shown.stderr
        with urllib.request.urlopen(f"http://localhost:{ui_port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        output = await stop_dev(dev)
    assert "Stopped." in output
    assert (data / "temporal.db").exists() and (data / "support-provision.db").exists()
    assert list(stack_folder.iterdir()) == [] and list(elsewhere.iterdir()) == []

    dev, printed = await start_dev(env, port, ui_port, cwd=elsewhere, codec_port=codec_port)
    assert "Payload keys:     created" not in printed
    assert keys.read_text() == written  # the same key opens what the first run sealed
    try:
        shown = await cli("case", "show", "DEV-1", "--json", env=env)
        assert shown.code == 0, shown.stderr
        assert shown.json()["status"] == "open"
        assert shown.json()["tenant_ref"] == "TEN-DEV"
        listed = await eventually(lambda: _listed(env, "TEN-DEV"), timeout=30, interval=0.3)
        assert listed[0]["case_ref"] == "DEV-1"
        server = int((data / "temporal.pid").read_text())
    except BaseException:
        await stop_dev(dev)
        raise

    # Killed outright mid-case: its Temporal server is left running; the next start
    # proves it is this folder's leftover, stops it, and the case carries on where it was.
    dev.kill()
    await dev.wait()
    assert is_running(server)
    dev, printed = await start_dev(env, port, ui_port, codec_port=codec_port)
    try:
        assert f"Stopped a Temporal server (pid {server}) left running" in printed
        assert not is_running(server)
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
        await stop_dev(dev)


async def _codec_server_serves_the_ui(
    data: Path, printed: str, ui_port: int, codec_port: int
) -> None:
    """The stack's codec server answers its folder's token only, and the UI points at it."""
    token_file = data / "codec-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "payload-keys").stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    endpoint = f"http://127.0.0.1:{codec_port}"
    assert f"Codec server:     {endpoint}" in printed
    assert f"--codec-endpoint {endpoint}" in printed and str(token_file) in printed
    assert token not in printed
    server = command_line(int((data / "temporal.pid").read_text()))
    assert server is not None
    assert server[server.index("--ui-codec-endpoint") + 1] == f"{endpoint}/{token}"
    body = json.dumps({"payloads": []}).encode()

    def post(path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(f"{endpoint}{path}", body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return refused.code

    assert post("/decode", {"Authorization": f"Bearer {token}"}) == 200
    assert post(f"/{token}/decode", {"Origin": f"http://localhost:{ui_port}"}) == 200
    assert post("/decode", {}) == 401


async def _listed(
    env: dict[str, str], tenant: str, cwd: Path | None = None
) -> list[dict[str, object]] | None:
    result = await cli("case", "list", "--tenant", tenant, "--json", env=env, cwd=cwd)
    return result.json() if result.code == 0 and result.json() else None
