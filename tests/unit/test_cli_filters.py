"""A filter that can match nothing is refused, not answered with an empty list."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter.cli import app


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["case", "list", "--status", "bogus"],
            "there is no case status 'bogus'; "
            "--status takes open, completed, closed or ended_outside\n",
        ),
        (
            ["notifications", "list", "--status", "bogus"],
            "there is no status 'bogus'; --status takes pending, sending, resending, sent, "
            "uncertain, failed or recorded\n",
        ),
    ],
)
def test_an_unknown_status_is_refused_in_one_line(command: list[str], message: str, tmp_path: Path):
    result = CliRunner().invoke(app, command, env={"SUPPORT_PROVISION_DATA": str(tmp_path)})
    assert (result.exit_code, result.stderr, result.stdout) == (1, message, "")
    assert list(tmp_path.iterdir()) == []
