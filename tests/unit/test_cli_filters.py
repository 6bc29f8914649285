"""A filter that can match nothing is refused, not answered with an empty list."""

from __future__ import annotations

from pathlib import Path

import pytest

# typer carries its own copy of click and does not re-export its exceptions.
from typer._click.exceptions import UsageError
from typer.testing import CliRunner

from starter.cli import app


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["case", "list", "--status", "bogus"],
            "Invalid value for '--status': there is no case status 'bogus'; "
            "choose open, completed, closed or ended_outside",
        ),
        (
            ["notifications", "list", "--status", "bogus"],
            "Invalid value for '--status': there is no status 'bogus'; choose pending, "
            "sending, resending, sent, uncertain, failed or recorded",
        ),
    ],
)
def test_an_unknown_status_is_a_command_line_mistake(
    command: list[str], message: str, tmp_path: Path
):
    """Refused before anything is opened, with exit 2; `starter.cli.main` tells it in one
    line (tests/e2e/test_cli_usage.py)."""
    result = CliRunner().invoke(
        app, command, env={"SUPPORT_PROVISION_DATA": str(tmp_path)}, standalone_mode=False
    )
    assert isinstance(result.exception, UsageError), result.output
    assert (result.exception.exit_code, result.exception.format_message()) == (2, message)
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
