"""End to end: every command that needs Temporal or the database, run with it down.

Each must end in one line on stderr that says what is wrong and what to do, with exit 1:
no traceback, no transport text from the SDK's core, and, where the embedded database
has not been made yet, no empty database made by the attempt. Nothing listens on the
ports used here, so each refusal comes at once.

Every command runs in this process, on the real command line (a subprocess each would
cost a second of start-up apiece); one of each kind, and the long-running `worker` and
`dev`, also run as the real `support-provision` subprocess, where anything the SDK's core
wrote straight to the process's stderr would show.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from starter.cli import app
from tests.e2e.cli import Result, cli
from tests.smtp import free_port

CASE = "ANY-1"

# Commands that talk to Temporal (the database, where they read one, is ready).
TEMPORAL = [
    ("case", "start", "tenancy-sustainment-assessment", "--tenant", "TEN-1"),
    ("case", "show", CASE),
    ("case", "list", "--temporal"),
    ("case", "complete", CASE, "initial-contact"),
    ("case", "add-task", CASE, "home-visit"),
    ("case", "cancel-task", CASE, "home-visit"),
    ("case", "bypass", CASE, "home-visit"),
    ("case", "undo", CASE, "home-visit"),
    ("case", "close", CASE, "--outcome", "support-not-needed"),
    ("case", "pause", CASE, "--reason", "tenant in hospital"),
    ("case", "resume", CASE),
    ("case", "hold", CASE, "home-visit", "--reason", "awaiting a partner agency"),
    ("case", "release", CASE, "home-visit"),
    ("case", "revise", CASE, "case", "--due", "2026-12-01T17:00+00:00", "--reason", "agreed"),
]

# Commands that read the database; each would have made an empty SQLite file before.
READS = [
    ("case", "start", "tenancy-sustainment-assessment", "--tenant", "TEN-1"),
    ("case", "list"),
    ("tasks",),
    ("db", "current"),
    ("directory", "list"),
    ("notifications", "list"),
    ("definitions", "versions"),
    ("definitions", "published", "safeguarding-review"),
    ("definitions", "diff", "safeguarding-review", "1"),
    ("definitions", "show", "safeguarding-review", "--version", "1"),
]

# Commands that change what the database holds.
WRITES = [("directory", "sync"), ("definitions", "publish")]

# `db upgrade` makes a database, so it is tried only against a server that is down.
DATABASE = [*READS, *WRITES, ("db", "upgrade")]


async def run_each(commands: list[tuple[str, ...]], env: dict[str, str]) -> dict[str, Result]:
    """Each command on the command line in this process, keyed by its command line.

    In a thread of its own: the commands start event loops, and this test's is running.
    """

    def run_all() -> dict[str, Result]:
        runner = CliRunner()
        results = {}
        for args in commands:
            ran = runner.invoke(app, list(args), env=env)
            assert ran.exception is None or isinstance(ran.exception, SystemExit), ran.exception
            results[" ".join(args)] = Result(ran.exit_code, ran.stdout, ran.stderr)
        return results

    return await asyncio.to_thread(run_all)


async def spawn_each(commands: list[tuple[str, ...]], env: dict[str, str]) -> dict[str, Result]:
    """Each command as the real `support-provision` subprocess, side by side."""
    results = await asyncio.gather(*(cli(*args, env=env) for args in commands))
    return {
        f"support-provision {' '.join(args)}": result
        for args, result in zip(commands, results, strict=True)
    }


def assert_one_clear_line(results: dict[str, Result], *expected: str) -> None:
    for command, result in results.items():
        said = result.stderr
        assert result.code == 1, f"{command}: exit {result.code}\n{said}"
        assert said.count("\n") == 1 and said.endswith("\n"), f"{command}:\n{said}"
        for raw in ("Traceback", "tonic", "transport::", "Errno", "Connect call failed"):
            assert raw not in said, f"{command}: {said}"
        assert any(phrase in said for phrase in expected), f"{command}: {said}"


async def test_with_temporal_down_each_command_says_so_in_one_line(ready_database: str):
    address = f"127.0.0.1:{free_port()}"
    env = {"TEMPORAL_ADDRESS": address, "DATABASE_URL": ready_database}
    results = await run_each(TEMPORAL, env)
    results |= await spawn_each([("case", "show", CASE), ("worker",)], env)
    assert_one_clear_line(results, f"Cannot reach Temporal at {address} (connection refused)")
    assert "start it with `support-provision dev` or set TEMPORAL_ADDRESS" in (
        results["case show ANY-1"].stderr
    )


async def test_with_the_database_server_down_each_command_says_so_in_one_line():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/support"
    env = {"DATABASE_URL": url, "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    results = await run_each(DATABASE, env)
    dev = (
        "dev",
        "--port",
        str(free_port()),
        "--ui-port",
        str(free_port()),
        "--codec-port",
        str(free_port()),
    )
    results |= await spawn_each([("case", "list"), ("worker",), dev], env)
    assert_one_clear_line(
        results,
        "connection refused; is the database server running",
        "Could not prepare the database",
    )
    assert "Could not prepare the database" in results[f"support-provision {' '.join(dev)}"].stderr


async def test_without_the_embedded_database_nothing_makes_an_empty_one(tmp_path: Path):
    folder = tmp_path / "data"
    env = {
        "SUPPORT_PROVISION_DATA": str(folder),
        "DATABASE_URL": "",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    results = await run_each([*READS, *WRITES], env)
    results |= await spawn_each([("case", "list"), ("worker",)], env)
    assert_one_clear_line(
        results, f"There is no database at {folder.resolve() / 'support-provision.db'};"
    )
    said = results["case list"].stderr
    assert "`make dev` or `support-provision dev`" in said and "DATABASE_URL" in said
    assert not folder.exists()
