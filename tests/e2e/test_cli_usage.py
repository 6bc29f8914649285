"""A mistake in the command line itself is told in one line, as a refusal is.

Typer would print the usage, a hint and the message in a box; a script reading standard
error, or a person in a narrow terminal, gets one line naming the command, what is wrong
and where to read what it takes, with exit code 2 (a refusal of the request is 1). A value
the command's own checks refuse (a status, a view, a day, a combination of options) is such
a mistake too: nothing is contacted, and none of these needs a server or a database.
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
        # One range for every --limit, and log positions within the register's: a value
        # past them is a usage error, never a database's overflow.
        *(
            (
                [*command.split(), "--limit", value],
                f"support-provision {command}",
                f"Invalid value for '--limit': Input should be {words}",
            )
            for command in ("case list", "notifications list", "tasks")
            for value, words in (
                ("0", "greater than or equal to 1"),
                ("-5", "greater than or equal to 1"),
                ("99999999999999999999999", "less than or equal to 10000"),
            )
        ),
        (
            ["case", "show", "TSA-1", "--log-from", "99999999999999999999999"],
            "support-provision case show",
            "Invalid value for '--log-from': Input should be less than or equal to 2147483647",
        ),
        (
            ["case", "show", "TSA-1", "--log-limit", "-1"],
            "support-provision case show",
            "Invalid value for '--log-limit': Input should be greater than or equal to 0",
        ),
        # Values that only the command's own checks refuse, before anything is contacted.
        (
            ["case", "list", "--status", "bogus"],
            "support-provision case list",
            "Invalid value for '--status': there is no case status 'bogus'; choose open,",
        ),
        (
            ["definitions", "list", "--view", "bogus"],
            "support-provision definitions list",
            "Invalid value for '--view': there is no view 'bogus'; choose current,",
        ),
        (
            ["definitions", "list", "--at", "2026-13-01"],
            "support-provision definitions list",
            "Invalid value for '--at': '2026-13-01' is not a day that exists",
        ),
        (
            ["case", "list", "--chain", "TSA-1"],
            "support-provision case list",
            "--chain asks Temporal's visibility store; add --temporal",
        ),
        (
            ["tasks", "--due-within", "soon"],
            "support-provision tasks",
            "Invalid value for '--due-within': \"soon\" is not a duration",
        ),
        (
            ["case", "complete", "TSA-1", "first", "--field", "no-label"],
            "support-provision case complete",
            "Invalid value for '--field': \"no-label\" is not LABEL=VALUE",
        ),
        (
            # Labels match a task's as it matches them: without case or surrounding spaces.
            ["case", "complete", "TSA-1", "first"]
            + ["--field", "Risk level=high", "--field", " risk level =low"],
            "support-provision case complete",
            "Invalid value for '--field': \"Risk level\" is given twice; give each field once",
        ),
        (
            ["case", "revise", "TSA-1", "case", "--due", "tomorrow", "--reason", "r"],
            "support-provision case revise",
            "Invalid value for '--due': \"tomorrow\" is not a date and time",
        ),
        (
            [
                "definitions",
                "published",
                "safeguarding-review",
                "--version",
                "1",
                "--at",
                "2027-01-01",
            ],
            "support-provision definitions published",
            "--version names a version and --at the day of the one in effect: give one",
        ),
        (
            ["definitions", "show", "safeguarding-review", "--version", "1", "--at", "2027-01-01"],
            "support-provision definitions show",
            "--version shows a published version and --at the files as of a day: give one",
        ),
        (
            ["calendar", "due", "scotland", "23/12/2026", "5 working days"],
            "support-provision calendar due",
            "Invalid value for 'FROM': \"23/12/2026\" is not a date and time: write ISO 8601",
        ),
        (
            ["calendar", "due", "scotland", "2026-12-23T10:00", "five days"],
            "support-provision calendar due",
            "Invalid value for 'DURATION': \"five days\" is not a duration",
        ),
        (
            # A day alone was taken as its first minute, hours before a person meant.
            ["case", "revise", "TSA-1", "case", "--due", "2027-03-01", "--reason", "r"],
            "support-provision case revise",
            "Invalid value for '--due': \"2027-03-01\" is a day, not a time: write when on "
            "it, e.g. 2027-03-01T17:00",
        ),
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
