import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter import cli_calendar
from starter.cli_calendar import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return runner.invoke(app, list(args), env=env)


@pytest.fixture(autouse=True)
def _shipped_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli_calendar.DEFINITIONS_ENV, raising=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("england-and-wales", "2026-12-23T10:00", "5 working days"), "2027-01-04T10:00:00+00:00"),
        (
            ("england-and-wales-christmas-closure", "2026-12-23T10:00", "5 working days"),
            "2027-01-07T10:00:00+00:00",
        ),
        (("scotland", "2026-12-31T10:00", "1 working day"), "2027-01-05T10:00:00+00:00"),
        (("northern-ireland", "2026-07-10T14:00", "1 working day"), "2026-07-14T14:00:00+01:00"),
        # Local time in summer, the answer in winter: the offset follows the date.
        (("england-and-wales", "2026-10-23T10:00", "1 working day"), "2026-10-26T10:00:00+00:00"),
        # An explicit offset is honoured; the answer is in the calendar's zone.
        (("england-and-wales", "2026-06-08T08:00Z", "1 working hour"), "2026-06-08T10:00:00+01:00"),
        # 24x7: a FROM without an offset is UTC.
        (("24x7", "2026-06-08T10:00", "2 working days"), "2026-06-10T10:00:00+00:00"),
        (("24x7", "2026-06-08 10:00", "30 minutes"), "2026-06-08T10:30:00+00:00"),
        (("england-and-wales", "2026-12-24T13:00", "4 Working Hours"), "2026-12-24T17:00:00+00:00"),
        # Weeks and months: the last day of a shorter month; a closed day moves to the opening.
        (("24x7", "2028-01-31T10:00", "1 month"), "2028-02-29T10:00:00+00:00"),
        (("england-and-wales", "2027-01-31T10:00", "1 month"), "2027-03-01T09:00:00+00:00"),
        (("england-and-wales", "2026-03-10T10:00", "1 month"), "2026-04-10T10:00:00+01:00"),
        (("england-and-wales", "2026-12-18T10:00", "1 week"), "2026-12-29T09:00:00+00:00"),
        (("scotland", "2026-12-01T10:00", "2 weeks"), "2026-12-15T10:00:00+00:00"),
    ],
)
def test_due(args: tuple[str, str, str], expected: str) -> None:
    result = run("due", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_due_json() -> None:
    result = run("due", "england-and-wales", "2026-12-23T10:00", "5  working  days", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "calendar": "england-and-wales",
        "from": "2026-12-23T10:00:00+00:00",
        "duration": "5 working days",
        "due": "2027-01-04T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("wales", "2026-12-23T10:00", "5 working days"),
            'unknown calendar "wales": known calendars are 24x7, england-and-wales, scotland, '
            "northern-ireland, england-and-wales-christmas-closure",
        ),
        (
            ("scotland", "23/12/2026", "5 working days"),
            '"23/12/2026" is not a date and time: write ISO 8601, e.g. 2026-12-23T10:00',
        ),
        (
            ("scotland", "2026-03-29T01:30", "1 hour"),
            '"2026-03-29T01:30" does not exist in Europe/London: the clocks go forward then',
        ),
        (
            ("scotland", "2026-12-23T10:00", "five days"),
            '"five days" is not a duration: write a whole number and a unit, e.g. '
            '"10 working days", "4 working hours", "3 months", "3 days", "48 hours", "30 minutes", '
            '"45 seconds"',
        ),
        (
            ("scotland", "2026-12-23T10:00", "0 days"),
            '"0 days" is not a duration: the amount must be at least 1',
        ),
        (
            ("24x7", "9999-12-30T10:00", "5 days"),
            "5 days after 9999-12-30T10:00:00+00:00 is past the year 9999",
        ),
        (
            ("england-and-wales", "2026-12-23T10:00", "9999999 working days"),
            '"9999999 working days" is longer than an SLA can mean: at most 2,600 working days '
            "(about ten years); use a shorter period",
        ),
        (
            ("24x7", "2026-12-23T10:00", "99999999999999999999999 seconds"),
            '"99999999999999999999999 seconds" is longer than an SLA can mean: at most '
            "316,224,000 seconds (about ten years); use a shorter period",
        ),
    ],
)
def test_due_refusals_are_one_line_on_stderr(args: tuple[str, str, str], message: str) -> None:
    """A FROM or DURATION that is not one is a mistake in the command line (exit 2, told
    in one line by `cli.main`); the rest are refusals (exit 1)."""
    result = run("due", *args)
    assert result.stdout == ""
    if "is not a date and time" in message or "duration" in message or "SLA" in message:
        assert result.exit_code == 2  # the line itself: tests/e2e/test_cli_usage.py
    else:
        assert result.exit_code == 1
        assert result.stderr == message + "\n"


def test_due_takes_the_short_forms_the_worklist_takes() -> None:
    short, long = (
        run("due", "england-and-wales", "2026-12-23T10:00", "5wd"),
        run("due", "england-and-wales", "2026-12-23T10:00", "5 working days"),
    )
    assert short.exit_code == 0 and short.stdout == long.stdout


def test_definitions_dir_option_and_environment(tmp_path: Path) -> None:
    (tmp_path / "calendars.yaml").write_text(
        "calendars:\n  - {id: always, name: Always, kind: continuous}\n", encoding="utf-8"
    )
    args = ("due", "always", "2026-06-08T10:00", "1 day")
    assert run(*args, "--definitions", str(tmp_path)).stdout == "2026-06-09T10:00:00+00:00\n"
    from_env = run(*args, env={cli_calendar.DEFINITIONS_ENV: str(tmp_path)})
    assert from_env.stdout == "2026-06-09T10:00:00+00:00\n"
    assert run(*args).exit_code == 1  # not in the shipped catalog


def test_a_broken_file_lists_its_problems(tmp_path: Path) -> None:
    (tmp_path / "calendars.yaml").write_text(
        "calendars:\n  - {id: a, name: A, kind: sometimes}\n  - {id: a, name: B}\n",
        encoding="utf-8",
    )
    result = run("list", "--definitions", str(tmp_path))
    path = tmp_path / "calendars.yaml"
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f'{path}: calendars[0].kind: "sometimes" is not a calendar kind: use "continuous" or '
        '"working_time"',
        f'{path}: calendars[1].id: "a" is already the id of calendars[0]',
        f'{path}: calendars[1].kind: is required: use "continuous" or "working_time"',
    ]
    assert "Traceback" not in result.output


def test_list_table() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    for text in ("24x7", "england-and-wales-christmas-closure", "Mon-Fri", "2026-12-29"):
        assert text in result.stdout


def test_list_json() -> None:
    result = run("list", "--json")
    assert result.exit_code == 0, result.stderr
    calendars = json.loads(result.stdout)
    assert [calendar["id"] for calendar in calendars] == [
        "24x7",
        "england-and-wales",
        "scotland",
        "northern-ireland",
        "england-and-wales-christmas-closure",
    ]
    assert calendars[2] == {
        "id": "scotland",
        "name": "Office hours, Scotland",
        "kind": "working_time",
        "timezone": "Europe/London",
        "working_days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "opens": "09:00",
        "closes": "17:00",
        "bank_holidays": "scotland",
        "extra_closures": [],
    }
