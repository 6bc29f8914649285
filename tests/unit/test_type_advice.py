"""Advice on a provision type (`casemodel.type_advice.advise`): chains of tasks that
overrun their case target, and recurring tasks whose occurrences would pile up; and how
`definitions validate` prints them: ``warning: <file>: <field>: ...``, counted in the
summary, exit 0 on their own.

The dates below are worked by hand from the calendars (England and Wales: Christmas Day
Friday 25 December 2026, substitute Boxing Day Monday 28 December, New Year's Day Friday
1 January 2027).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from casemodel.calendars import calendar_for
from casemodel.type_advice import TypeWarning, advise, ordinary_start, worst_case_start
from definitions.calendars import CalendarDefinition, load_calendar_definitions
from definitions.loader import default_definitions_dir, read_catalog
from definitions.schema import ProvisionType
from starter.cli_definitions import app
from tests.catalogs.broken import DIRECTORY_FILE, TYPE_FILE, valid_type, write_valid_catalog
from tests.catalogs.warned import overrunning_catalog

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
CALENDARS: dict[str, CalendarDefinition] = {
    definition.id: definition
    for definition in load_calendar_definitions(
        default_definitions_dir() / "calendars.yaml"
    ).calendars
}
CHRISTMAS = (
    "from a start Thu 2026-12-24 16:59, one minute before closing on the last working day "
    "before the longest closure of the year ahead (closed Fri 2026-12-25 to Mon 2026-12-28)"
)


def task(task_id: str, target: str | None, *depends_on: Any, **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"id": task_id, "name": task_id.title()}
    if target is not None:
        found["sla"] = {"target": target}
    if depends_on:
        found["depends_on"] = list(depends_on)
    return found | more


def a_type(case_target: str | None, *tasks: dict[str, Any]) -> ProvisionType:
    data: dict[str, Any] = {
        "id": "plan",
        "name": "Plan",
        "category": "support_plan",
        "audience": "customer_facing",
        "tasks": list(tasks),
    }
    if case_target is not None:
        data["sla"] = {"target": case_target}
    return ProvisionType.model_validate(data)


def advice(provision_type: ProvisionType, calendar: str = "england-and-wales") -> dict[str, str]:
    found = advise(provision_type, NOW, calendar=CALENDARS[calendar])
    return {w.location: w.message for w in found}


# -- the starts -----------------------------------------------------------------------------


def test_the_worst_case_start_is_just_before_the_longest_closure() -> None:
    england = calendar_for(CALENDARS["england-and-wales"])
    start = worst_case_start(england, NOW)
    assert start.at == datetime(2026, 12, 24, 16, 59, tzinfo=UTC)
    assert "(closed Fri 2026-12-25 to Mon 2026-12-28)" in start.why
    closure = calendar_for(CALENDARS["england-and-wales-christmas-closure"])
    assert "(closed Fri 2026-12-25 to Sun 2027-01-03)" in worst_case_start(closure, NOW).why
    # Looking from the summer, the next Christmas: Saturday to the substitute Tuesday.
    summer = worst_case_start(england, datetime(2027, 6, 1, tzinfo=UTC))
    assert summer.at == datetime(2027, 12, 24, 16, 59, tzinfo=UTC)
    assert "(closed Sat 2027-12-25 to Tue 2027-12-28)" in summer.why


def test_the_ordinary_start_is_the_first_opening_in_february() -> None:
    england = calendar_for(CALENDARS["england-and-wales"])
    assert ordinary_start(england, NOW).at == datetime(2027, 2, 1, 9, tzinfo=UTC)
    # 1 February 2026 is a Sunday.
    january = datetime(2026, 1, 10, tzinfo=UTC)
    assert ordinary_start(england, january).at == datetime(2026, 2, 2, 9, tzinfo=UTC)
    always = calendar_for(CALENDARS["24x7"])
    assert worst_case_start(always, NOW) == ordinary_start(always, NOW)
    assert ordinary_start(always, NOW).at == datetime(2027, 2, 1, tzinfo=UTC)


# -- SLA synchronisation ----------------------------------------------------------------


def test_a_chain_that_overruns_the_case_target_is_named_with_where_both_fall() -> None:
    provision_type = a_type(
        "10 working days",
        task("initial-contact", "3 working days"),
        task("home-visit", "5 working days", {"task": "initial-contact", "lag": "1 working day"}),
        task("support-plan", "5 working days", "home-visit"),
    )
    assert advice(provision_type) == {
        "sla.target": "the longest chain of tasks, initial-contact → home-visit → support-plan, "
        "ends Mon 2027-01-18 16:59 when each task takes its full SLA target, after the case "
        "target, Tue 2027-01-12 16:59: counted in the calendar england-and-wales "
        f"{CHRISTMAS}; give the case more time, or its tasks less"
    }


def test_a_chain_that_fits_is_not_mentioned() -> None:
    provision_type = a_type(
        "20 working days",
        task("initial-contact", "3 working days"),
        task("home-visit", "5 working days", {"task": "initial-contact", "lag": "1 working day"}),
        task("support-plan", "5 working days", "home-visit"),
    )
    assert advice(provision_type) == {}


def test_the_longest_branch_is_the_chain_named() -> None:
    provision_type = a_type(
        "10 working days",
        task("contact", "2 working days"),
        task("short", "1 working day", "contact"),
        task("long", "9 working days", "contact"),
        task("close", "1 working day", "short", "long"),
    )
    assert "contact → long → close, ends" in advice(provision_type)["sla.target"]


def test_a_lag_counts_and_a_task_without_sla_passes_only_its_lags_on() -> None:
    provision_type = a_type(
        "10 working days",
        task("contact", "4 working days"),
        task("wait", None, {"task": "contact", "lag": "5 working days"}),
        task("close", "2 working days", "wait"),
    )
    assert "contact → wait → close" in advice(provision_type)["sla.target"]
    without_lag = a_type(
        "10 working days",
        task("contact", "4 working days"),
        task("wait", None, "contact"),
        task("close", "2 working days", "wait"),
    )
    assert advice(without_lag) == {}


def test_an_optional_task_at_the_end_of_a_chain_cannot_hold_the_case_open() -> None:
    series = {"every": "1 month", "for": "24 months", "until_outcome": "cleared"}
    outcomes = [{"id": "cleared", "label": "Cleared"}]
    beside = task("review", "5 working days", "assess", mandatory=False, recurrence=series)
    ptype = a_type(
        "20 working days",
        task("assess", "10 working days"),
        beside | {"outcomes": outcomes},
    )
    assert advice(ptype) == {}
    held = a_type(
        "20 working days",
        task("assess", "10 working days"),
        task("review", "5 working days", "assess", recurrence=series) | {"outcomes": outcomes},
    )
    assert "assess → review" in advice(held)["sla.target"]


def test_tasks_added_by_hand_are_not_part_of_a_chain() -> None:
    provision_type = a_type(
        "10 working days",
        task("contact", "4 working days"),
        task("extra", "20 working days", "contact", automatic=False),
    )
    assert advice(provision_type) == {}


def test_a_type_without_a_case_sla_has_nothing_to_overrun() -> None:
    provision_type = a_type(None, task("contact", "40 working days"))
    assert advice(provision_type) == {}


def test_months_are_counted_from_the_start_that_overruns_most() -> None:
    # "28 days" fits a month from Christmas Eve, not from 1 February: the later overrun wins.
    provision_type = a_type("1 month", task("contact", "29 days"))
    message = advice(provision_type, "24x7")["sla.target"]
    assert "ends Tue 2027-03-02 00:00" in message
    assert "case target, Mon 2027-03-01 00:00" in message
    assert "from a start Mon 2027-02-01 00:00, the start of the first February ahead" in message


def test_a_recurring_task_in_a_chain_takes_its_whole_series() -> None:
    def series(target: str, **recurrence: Any) -> ProvisionType:
        return a_type(
            target,
            task("check-in", "2 days", recurrence={"every": "7 days", **recurrence}),
            task("close", "1 day", "check-in"),
        )

    # Occurrences open on days 0, 7 and 14; the last is due on day 16; close on day 17.
    three = series("16 days", times=3)
    message = advice(three, "24x7")["sla.target"]
    assert "check-in → close, ends Thu 2027-02-18 00:00" in message
    assert "case target, Wed 2027-02-17 00:00" in message
    assert advice(series("17 days", times=3), "24x7") == {}
    # Within 10 days: days 0 and 7 only; close on day 10.
    assert advice(series("10 days", **{"for": "10 days"}), "24x7") == {}
    assert "sla.target" in advice(series("9 days", **{"for": "10 days"}), "24x7")
    # Nobody knows when the outcome comes: the first occurrence only.
    outcomes = [{"id": "settled", "label": "Settled"}]
    until = a_type(
        "3 days",
        task(
            "check-in",
            "2 days",
            recurrence={"every": "7 days", "until_outcome": "settled"},
            outcomes=outcomes,
        ),
        task("close", "1 day", "check-in"),
    )
    assert advice(until, "24x7") == {}
    # From completion: each opens 7 days after the last was due: days 0, 9 and 18.
    completion = series("20 days", times=3, **{"from": "completion"})
    assert "ends Mon 2027-02-22 00:00" in advice(completion, "24x7")["sla.target"]


def test_a_case_opening_on_the_start_day_gets_only_the_tasks_in_effect_then() -> None:
    provision_type = a_type(
        "10 working days",
        task("contact", "2 working days"),
        task("old-visit", "20 working days", "contact", effective_to="2026-11-30"),
    )
    assert advice(provision_type) == {}


# -- occurrences that pile up ------------------------------------------------------------


def recurring(every: str, target: str, **recurrence: Any) -> ProvisionType:
    return a_type(
        None,
        task("start", None),
        task("check-in", target, recurrence={"every": every, "times": 12, **recurrence}),
    )


def test_an_interval_shorter_than_the_target_piles_occurrences_up() -> None:
    assert advice(recurring("1 week", "10 working days")) == {
        "tasks[1].recurrence.every": '"1 week" is shorter than the task\'s own SLA target '
        '"10 working days", so occurrences would pile up: from Mon 2027-02-01 09:00 (opening '
        "time on the first working day of the first February ahead, in the calendar "
        "england-and-wales), the next occurrence opens Mon 2027-02-08 09:00, before this one "
        "is due Fri 2027-02-12 17:00; make the interval longer or the target shorter, or "
        "count from completion"
    }


@pytest.mark.parametrize(
    ("every", "target"),
    [
        ("1 week", "5 working days"),  # due Friday at closing, the next opens on Monday
        ("2 weeks", "10 working days"),
        ("1 month", "4 weeks"),
        ("5 working days", "5 working days"),
    ],
)
def test_an_interval_as_long_as_the_target_is_fine(every: str, target: str) -> None:
    assert advice(recurring(every, target)) == {}


def test_a_series_counted_from_completion_never_piles_up() -> None:
    assert advice(recurring("1 week", "10 working days", **{"from": "completion"})) == {}


def test_a_recurring_task_without_sla_cannot_pile_up() -> None:
    provision_type = a_type(None, task("check-in", None, recurrence={"every": "1 day", "times": 3}))
    assert advice(provision_type) == {}


def test_advice_is_located_and_reads_as_one_line() -> None:
    warning = TypeWarning("sla.target", "the longest chain ...")
    assert str(warning) == "sla.target: the longest chain ..."
    assert str(TypeWarning("", "whole type")) == "whole type"


# -- the shipped catalog -------------------------------------------------------------------


def test_the_shipped_catalog_fits_its_case_targets_and_does_not_pile_up() -> None:
    """The shipped types are what administrators copy: none may warn. (The tenancy
    sustainment chain takes 19 working days against its case target of 20, the hoarding
    plan's six months of fortnightly inspections fit inside its 190.)"""
    reading = read_catalog(default_definitions_dir())
    assert reading.catalog is not None and reading.calendars is not None
    found = {
        (type_file.file, w.location): w.message
        for type_file in reading.type_files
        if type_file.provision_type is not None
        for w in advise(
            type_file.provision_type,
            NOW,
            calendar=reading.calendars[type_file.provision_type.calendar],
        )
    }
    assert found == {}


# -- definitions validate ------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_configured_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORT_PROVISION_DEFINITIONS", raising=False)
    monkeypatch.delenv("SUPPORT_PROVISION_DIRECTORY", raising=False)


def validate(root: Path, *more: str) -> Any:
    return runner.invoke(app, ["validate", str(root), "--directory", str(DIRECTORY_FILE), *more])


def test_validate_prints_warnings_counts_them_and_exits_0(tmp_path: Path) -> None:
    result = validate(overrunning_catalog(tmp_path / "defs"))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(
        f"warning: {TYPE_FILE}: sla.target: the longest chain of tasks, first, ends "
    )
    assert lines[1].startswith(
        f'warning: {TYPE_FILE}: tasks[0].recurrence.every: "1 week" is shorter than the '
        "task's own SLA target"
    )
    assert result.stdout.strip().endswith(": all valid, 2 warnings")


def test_validate_counts_warnings_beside_problems(tmp_path: Path) -> None:
    root = overrunning_catalog(tmp_path / "defs")
    broken = valid_type() | {"id": "other", "calendar": "englnd"}
    (root / "types" / "other.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = validate(root)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith('types/other.yaml: calendar: "englnd" is not a calendar')
    assert [line.split(": ")[1] for line in lines[1:3]] == [TYPE_FILE, TYPE_FILE]
    assert all(line.startswith("warning: ") for line in lines[1:3])
    assert lines[-1] == f"1 problem and 2 warnings in {root}"
    assert result.stdout == ""


def test_validate_json_lists_warnings_apart(tmp_path: Path) -> None:
    result = validate(overrunning_catalog(tmp_path / "defs"), "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["valid"] is True and payload["problems"] == []
    assert [(w["file"], w["location"]) for w in payload["warnings"]] == [
        (TYPE_FILE, "sla.target"),
        (TYPE_FILE, "tasks[0].recurrence.every"),
    ]


def test_a_catalog_without_warnings_says_only_all_valid(tmp_path: Path) -> None:
    result = validate(write_valid_catalog(tmp_path / "defs"))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.strip().endswith(": all valid")
