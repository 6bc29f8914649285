"""One dev stack per data folder, and the clean-up after one that was killed.

A dev stack holds an exclusive lock on a file in its data folder for as long as it runs
(`StackLock`). The kernel drops the lock when the process ends, however it ends, so a
second stack on the same folder is refused while the first lives and gets the lock the
moment it is gone. The Temporal server runs in a session of its own (Ctrl-C reaches only
the stack, which then stops the server in order), so a stack killed with -9 leaves its
server behind; holding the lock proves that no live stack owns that server, and the
server's command line proves it is this folder's, so only then is it stopped.

Linux and macOS only (``fcntl``); reading command lines needs ``/proc`` (Linux): without
it no server is ever proved a leftover, and the port checks refuse instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

LOCK_FILE = "dev-stack.lock"
PID_FILE = "temporal.pid"
TEMPORAL_DB = "temporal.db"

STOP_TIMEOUT = 15.0


class StackRunning(RuntimeError):
    """Another live dev stack holds this data folder."""


class StackLock:
    """The data folder's lock, held from `acquire` until `release` (or process exit).

    The file keeps the holder's pid and ports so that a refused stack can name it; it is
    never deleted, since deleting a lock file lets two processes lock two different files.
    Python opens it close-on-exec, so the Temporal server does not inherit the lock and
    outlive the stack holding it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self, *, port: int, ui_port: int, codec_port: int | None = None) -> StackLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = describe_holder(handle.read())
            handle.close()
            raise StackRunning(
                f"A dev stack is already running on {self.data_dir} ({holder}); use that one, "
                "stop it first (Ctrl-C where it runs), or give this one another "
                "SUPPORT_PROVISION_DATA."
            ) from None
        handle.seek(0)
        handle.truncate()
        json.dump(
            {
                "pid": os.getpid(),
                "port": port,
                "ui_port": ui_port,
                "codec_port": codec_port,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            handle,
        )
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> StackLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def running_stack(data_dir: Path) -> dict[str, Any] | None:
    """The pid and ports of the dev stack running on `data_dir`, if one is: what the CLI
    uses to find it when TEMPORAL_ADDRESS and TEMPORAL_UI_URL are not set."""
    try:
        handle = (data_dir / LOCK_FILE).open(encoding="utf-8")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(handle.read())
            except ValueError:
                return None
            return holder if isinstance(holder, dict) else None
        fcntl.flock(handle, fcntl.LOCK_UN)  # nobody holds it: no stack runs here
    return None


def describe_holder(recorded: str) -> str:
    """What a lock file says about the stack holding it, for the refusal message."""
    try:
        holder: dict[str, Any] = json.loads(recorded)
        return (
            f"pid {holder['pid']}, Temporal on localhost:{holder['port']}, "
            f"UI on http://localhost:{holder['ui_port']}"
        )
    except (ValueError, KeyError, TypeError):
        return "its pid and ports are not recorded"


def is_dev_server_for(argv: Sequence[str], db_file: Path) -> bool:
    """Whether a command line is `temporal server start-dev` keeping its state in db_file."""
    if not argv:
        return False
    is_dev_server = Path(argv[0]).name == "temporal" and list(argv[1:3]) == ["server", "start-dev"]
    return is_dev_server and _option(argv, "--db-filename") == str(db_file)


def command_line(pid: int) -> list[str] | None:
    """The arguments a running process was started with; None if it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def leftover_server(lock: StackLock) -> int | None:
    """The pid of a Temporal dev server that a killed stack on this folder left running.

    Taking the held lock is the first half of the proof (no live stack owns the server);
    the second is the process's own command line: the temporal dev server on this folder's
    database. A pid that was reused by any other process fails it.
    """
    try:
        pid = int((lock.data_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    argv = command_line(pid)
    if argv is None or not is_dev_server_for(argv, lock.data_dir / TEMPORAL_DB):
        return None
    return pid


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it is still running after `timeout` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not is_running(pid):
            return


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its parent is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def dev_server_on_port(port: int) -> tuple[int, str] | None:
    """A Temporal dev server started with this frontend or UI port: its pid and state file."""
    try:
        pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        argv = command_line(pid)
        if not argv or Path(argv[0]).name != "temporal" or "start-dev" not in argv:
            continue
        if str(port) in (_option(argv, "--port"), _option(argv, "--ui-port")):
            return pid, _option(argv, "--db-filename") or "memory"
    return None


def _option(argv: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
    return None
