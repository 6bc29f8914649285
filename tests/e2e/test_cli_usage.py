"""A mistake in the command line itself is told in one line, as a refusal is.

Typer would print the usage, a hint and the message in a box; a script reading standard
error, or a person in a narrow terminal, gets one line naming the command, what is wrong
and where to read what it takes, with exit code 2 (a refusal of the request is 1).
"""

from __future__ import annotations

import pytest

from tests.e2e.cli import cli


@pytest.mark.parametrize(
    ("args", "command", "words"),
    [
        (["case", "start", "--bogus"], "support-provision case start", "No such option: --bogus"),
        (["case", "complete", "TSA-1"], "support-provision case complete", "Missing argument"),
        (["nosuch"], "support-provision", "No such command 'nosuch'"),
        (["tasks", "--limit", "many"], "support-provision tasks", "Invalid value for '--limit'"),
    ],
)
async def test_a_command_line_mistake_is_one_line_with_exit_code_2(
    args: list[str], command: str, words: str
):
    result = await cli(*args)
    assert result.code == 2, result
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{command}: ") and words in line, line
    assert line.endswith(f"See {command} --help."), line
    assert not set(line) & set("╭╮╰╯│─"), line  # no box
    assert result.stdout == ""


async def test_nothing_after_a_group_shows_its_help():
    result = await cli("case")
    assert result.code == 2 and result.stderr == ""
    assert "support-provision case [OPTIONS] COMMAND" in result.stdout
