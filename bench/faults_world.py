"""The world a fault drill runs in, made of parts that can be broken one at a time.

Unlike the other benches, everything that can fail runs apart from the harness: the
Temporal dev server and the worker are child processes (so they can be killed and
restarted), the SMTP server is a loopback sink (so it can be stopped), and the SQLite
database is a file the harness can lock or make read-only. The worker and the
database setup run from `code`, a checkout of the service (this one by default), so the
same drill measures another branch's code (`--code /work/main`).

Under root, file modes do not stop writes, so the worker then runs as ``nobody`` and
owns its folder: a read-only database is read-only for it as it would be in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from protection.codec import data_converter
from starter.identities import IdentityHeaders, Signer
from starter.search_attributes import ensure_search_attributes

from .env import BENCH_IDENTITY, BENCH_RING, IDENTITY_RING, progress

TASK_QUEUE = "fault-drill"
HERE = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 60.0
NOBODY = 65534


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Delivery:
    """One message the sink accepted."""

    message_id: str
    to: tuple[str, ...]
    at: float  # time.time()


class Sink:
    """A loopback SMTP server counting what it accepts; it can be stopped and restarted
    on the same port (an outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.deliveries.append(
                Delivery(str(message["Message-ID"]), tuple(envelope.rcpt_tos), time.time())
            )
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)


@dataclass(frozen=True)
class Checkout:
    """What the worker of a checkout makes of what the harness sends it, read from its
    files: one from before the payload codec reads payloads plain (a sealed one would be
    a payload it cannot decode), one from before identities takes requests unsigned."""

    path: Path
    seals: bool
    """Its worker seals and opens payloads (`protection/codec.py`, wired in its worker)."""
    signs: bool
    """Its worker verifies signed identities (`workflows/identities.py`, wired in too)."""

    @classmethod
    def of(cls, path: Path) -> Checkout:
        worker = path / "starter" / "worker.py"
        wired = worker.read_text(encoding="utf-8") if worker.is_file() else ""
        return cls(
            path=path,
            seals=(path / "protection" / "codec.py").is_file() and "data_converter" in wired,
            signs=(path / "workflows" / "identities.py").is_file()
            and "IdentityInterceptor" in wired,
        )

    def describe(self) -> str:
        sealed = "sealed" if self.seals else "plain (before the payload codec)"
        signed = "signed" if self.signs else "unsigned (before identities)"
        return f"payloads {sealed}, requests {signed}"


@dataclass
class World:
    """The parts of one drill and the handles to break them."""

    code: Path
    workdir: Path
    checkout: Checkout = field(init=False)
    sink: Sink = field(default_factory=Sink)
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_starts: int = 0
    kills: list[float] = field(default_factory=list)  # time.time() of each kill -9
    client: Client | None = None

    def __post_init__(self) -> None:
        self.checkout = Checkout.of(self.code)

    @property
    def db_file(self) -> Path:
        return self.workdir / "data" / "support-provision.db"

    @property
    def db_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.db_file}"

    @property
    def reference_url(self) -> str:
        """Where the harness resolves whom each firing should reach: the worker's own
        database when it runs this checkout; else a copy of the directory in this
        checkout's schema (another checkout's database may lack a column this one's
        queries name)."""
        if self.code == HERE:
            return self.db_url
        return f"sqlite+aiosqlite:///{self.workdir / 'reference.db'}"

    @property
    def as_nobody(self) -> bool:
        """Under root, the worker runs as `nobody`, so read-only files are read-only to
        it; only where `nobody` can reach the code (a checkout under a folder only its
        owner may enter, as `mktemp -d` makes, cannot be imported by anyone else)."""
        return os.geteuid() == 0 and _open_to_others(self.code)

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "SUPPORT_PROVISION_DATA": str(self.workdir / "data"),
            "XDG_DATA_HOME": str(self.workdir / "xdg"),
            "DATABASE_URL": self.db_url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
            "TEMPORAL_UI_URL": "http://localhost:8233",
            "SUPPORT_PROVISION_TASK_QUEUE": TASK_QUEUE,
            "SMTP_URL": f"smtp://127.0.0.1:{self.sink.port}",
            "SMTP_FROM": "alerts@northfield.example",
            "PYTHONUNBUFFERED": "1",
            # The worker seals payloads and verifies identities with the bench's rings,
            # which the harness's own client uses too.
            "SUPPORT_PROVISION_PAYLOAD_KEYS": BENCH_RING.as_line(),
            "SUPPORT_PROVISION_IDENTITY_KEYS": IDENTITY_RING.as_line(),
        }

    def command(self, *args: str) -> list[str]:
        """The service's command line in `code`'s environment (as ``nobody`` under root)."""
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        python = str(self.code / ".venv" / "bin" / "python")
        entry = "from starter.cli import main; main()"
        return [*(drop if self.as_nobody else []), python, "-c", entry, *args]

    def run(self, *args: str) -> None:
        """A one-off command of the service (db upgrade, directory sync); must succeed."""
        done = subprocess.run(
            self.command(*args),
            cwd=self.code,
            env=self.env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode()[-2000:]}")

    # --- the worker ----------------------------------------------------------------------

    def start_worker(self) -> None:
        self.worker_starts += 1
        log = (self.workdir / f"worker-{self.worker_starts:03d}.log").open("wb")
        self.worker = subprocess.Popen(
            self.command("worker"),
            cwd=self.code,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    async def worker_polling(self, seconds: float = 60.0) -> None:
        """Until the worker last started says it polls (its first log line)."""
        log = self.worker_logs()[-1]
        deadline = time.monotonic() + seconds
        while "worker polling" not in log.read_text(errors="replace"):
            if self.worker is not None and self.worker.poll() is not None:
                raise RuntimeError(f"the worker exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not poll within {seconds:.0f}s")
            await asyncio.sleep(0.1)

    def kill_worker(self) -> None:
        """kill -9: no shutdown, no heartbeat, whatever was on its way is cut off."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait(timeout=30)
            self.kills.append(time.time())

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=30)

    def worker_logs(self) -> list[Path]:
        return sorted(self.workdir.glob("worker-*.log"))

    # --- the Temporal server -------------------------------------------------------------

    def start_server(self) -> None:
        log = (self.workdir / "temporal.log").open("ab")
        self.server = subprocess.Popen(
            [
                temporal(self.code),
                "server",
                "start-dev",
                "--db-filename",
                str(self.workdir / "temporal.db"),
                "--port",
                str(self.port),
                "--ui-port",
                str(free_port()),
                "--headless",
                "--log-level",
                "error",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait(timeout=30)

    async def connect(self) -> Client:
        """The harness's client, once the server answers."""
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                return await Client.connect(
                    f"127.0.0.1:{self.port}",
                    # Pydantic either way, as the service's clients have always been.
                    data_converter=data_converter(BENCH_RING if self.checkout.seals else None),
                    interceptors=(
                        [IdentityHeaders(Signer(IDENTITY_RING, BENCH_IDENTITY))]
                        if self.checkout.signs
                        else []
                    ),
                )
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def server_answers(self) -> bool:
        assert self.client is not None
        try:
            await self.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=2)
            )
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    # --- the database --------------------------------------------------------------------

    def db_files(self) -> list[Path]:
        return [p for p in self.db_file.parent.glob(self.db_file.name + "*") if p.is_file()]

    def make_read_only(self) -> None:
        for path in self.db_files():
            path.chmod(0o444)
        self.db_file.parent.chmod(0o555)

    def make_writable(self) -> None:
        self.db_file.parent.chmod(0o777 if self.as_nobody else 0o755)
        for path in self.db_files():
            path.chmod(0o666 if self.as_nobody else 0o644)

    @contextlib.contextmanager
    def write_lock(self) -> Any:
        """Another connection holding the database's write lock (as a long migration or
        a stuck admin session would)."""
        holder = sqlite3.connect(self.db_file, isolation_level=None, timeout=30)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            yield
            holder.execute("COMMIT")
        finally:
            holder.close()


async def _prepare(url: str, directory: Path) -> None:
    engine = create_engine(url)
    try:
        await upgrade(url)
        async with session_factory(engine).begin() as session:
            await sync_directory(session, load_directory(directory))
    finally:
        await engine.dispose()


def directory_of(code: Path) -> Path:
    """The directory file `code`'s `directory sync` loads (without the environment's)."""
    if code == HERE:
        return default_directory_file()
    shipped = code / "definitions" / "directory.yaml"
    return shipped if shipped.is_file() else default_directory_file()


def temporal(code: Path) -> str:
    beside = code / ".venv" / "bin" / "temporal"
    if beside.exists():
        return str(beside)
    return str(Path(sys.executable).parent / "temporal")


@contextlib.asynccontextmanager
async def world(code: Path, workdir: Path) -> AsyncIterator[World]:
    """A migrated database with the shipped directory, a dev server, a sink; no worker
    yet. Everything stops on the way out."""
    here = World(code=code, workdir=workdir)
    (workdir / "data").mkdir(parents=True)
    if here.as_nobody:
        for path in (workdir, workdir / "data"):
            os.chown(path, NOBODY, NOBODY)
            path.chmod(path.stat().st_mode | stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    try:
        progress(f"preparing the database in {workdir} with {code}")
        if code == HERE:  # this checkout: in this process, sparing two interpreters' start
            await _prepare(here.db_url, directory_of(code))
        else:
            progress(f"{code}: {here.checkout.describe()}")
            await asyncio.to_thread(here.run, "db", "upgrade")
            await asyncio.to_thread(here.run, "directory", "sync")
            await _prepare(here.reference_url, directory_of(code))
        if here.as_nobody:
            for path in here.db_files():
                os.chown(path, NOBODY, NOBODY)
        here.make_writable()
        here.sink.start()
        here.start_server()
        here.client = await here.connect()
        await ensure_search_attributes(here.client, "default")
        progress(f"dev server on {here.port}, SMTP sink on {here.sink.port}")
        yield here
    finally:
        here.kill_worker()
        here.kill_server()
        here.sink.stop()
        with contextlib.suppress(OSError):
            here.make_writable()


def _open_to_others(folder: Path) -> bool:
    """Whether every folder down to `folder` may be entered and read by other users."""
    return all(
        p.stat().st_mode & 0o005 == 0o005 for p in (folder.resolve(), *folder.resolve().parents)
    )
