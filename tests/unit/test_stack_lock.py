"""One dev stack per data folder, and only a proven leftover server is ever stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from starter.stack_lock import (
    PID_FILE,
    StackLock,
    StackRunning,
    describe_holder,
    is_dev_server_for,
    is_running,
    leftover_server,
)

linux_only = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")


def test_a_second_stack_on_the_same_folder_is_refused_naming_the_first(tmp_path: Path):
    with (
        StackLock(tmp_path).acquire(port=17233, ui_port=18233),
        pytest.raises(StackRunning) as refused,
    ):
        StackLock(tmp_path).acquire(port=27233, ui_port=28233)
    message = str(refused.value)
    assert "\n" not in message
    assert f"pid {os.getpid()}" in message
    assert "localhost:17233" in message and "http://localhost:18233" in message
    assert str(tmp_path) in message


def test_the_lock_is_free_again_once_the_stack_ends(tmp_path: Path):
    StackLock(tmp_path).acquire(port=1, ui_port=2).release()
    with StackLock(tmp_path).acquire(port=3, ui_port=4) as lock:
        assert lock.path.exists()


def test_folders_lock_separately(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with StackLock(tmp_path / "a").acquire(port=1, ui_port=2):
        StackLock(tmp_path / "b").acquire(port=3, ui_port=4).release()


def test_an_unreadable_holder_is_still_a_refusal_not_a_crash():
    assert describe_holder("") == "its pid and ports are not recorded"
    assert describe_holder('{"pid": 1}') == "its pid and ports are not recorded"


def test_only_the_temporal_dev_server_on_this_database_is_recognised(tmp_path: Path):
    db = tmp_path / "temporal.db"
    ours = ["/venv/bin/temporal", "server", "start-dev", "--db-filename", str(db), "--port", "1"]
    assert is_dev_server_for(ours, db)
    assert is_dev_server_for([*ours[:3], f"--db-filename={db}"], db)
    assert not is_dev_server_for([*ours[:4], str(tmp_path / "other" / "temporal.db")], db)
    assert not is_dev_server_for([*ours[:3], "--port", "1"], db)
    assert not is_dev_server_for(["/bin/vim", "server", "start-dev", "--db-filename", str(db)], db)
    assert not is_dev_server_for(["/venv/bin/temporal", "workflow", "list", str(db)], db)
    assert not is_dev_server_for([], db)


@linux_only
def test_a_pid_file_naming_any_other_process_is_not_a_leftover(tmp_path: Path):
    with StackLock(tmp_path).acquire(port=1, ui_port=2) as lock:
        assert leftover_server(lock) is None  # no pid file
        (tmp_path / PID_FILE).write_text("not a pid")
        assert leftover_server(lock) is None
        # This very test process: alive, but not a Temporal server, so never stopped.
        (tmp_path / PID_FILE).write_text(str(os.getpid()))
        assert leftover_server(lock) is None
        assert is_running(os.getpid())


@linux_only
def test_a_process_that_has_gone_is_not_running():
    finished = subprocess.Popen([sys.executable, "-c", ""])
    finished.wait()
    assert not is_running(finished.pid)
