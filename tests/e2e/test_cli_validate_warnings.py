"""`definitions validate` with warnings only, through the real `support-provision` command:
each warning on standard error as ``warning: <file>: <field>: ...``, counted in the
summary, and exit 0."""

from __future__ import annotations

from pathlib import Path

from tests.catalogs.broken import DIRECTORY_FILE, TYPE_FILE
from tests.catalogs.warned import overrunning_catalog
from tests.e2e.cli import cli


async def test_the_command_prints_warnings_and_exits_0(tmp_path: Path) -> None:
    root = overrunning_catalog(tmp_path / "defs")
    result = await cli(
        "definitions", "validate", str(root), "--directory", str(DIRECTORY_FILE), timeout=30
    )
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert [line.split(": ")[:3] for line in result.stderr.splitlines()] == [
        ["warning", TYPE_FILE, "sla.target"],
        ["warning", TYPE_FILE, "tasks[0].recurrence.every"],
    ]
    assert result.stdout.strip().endswith(": all valid, 2 warnings")
