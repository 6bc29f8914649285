"""A few catalogs of the broken corpus through the real `support-provision` command, in a
process of its own: what an administrator sees, with nothing of pytest in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalogs.broken import CORPUS, DIRECTORY_FILE
from tests.e2e.cli import cli

THROUGH_THE_COMMAND = ("alias-bomb", "huge-subject")


@pytest.mark.parametrize("name", THROUGH_THE_COMMAND)
async def test_the_command_refuses_it_with_file_and_field(tmp_path: Path, name: str) -> None:
    case = next(case for case in CORPUS if case.name == name)
    root = case.write(tmp_path / "defs")
    result = await cli(
        "definitions", "validate", str(root), "--directory", str(DIRECTORY_FILE), timeout=30
    )
    assert result.code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert any(line.startswith(case.expected) for line in result.stderr.splitlines()), result.stderr
