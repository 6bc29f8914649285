"""Versions of a type in the definitions files: one file per period, checked as a catalog,
and the three views (current, expired, future) from a day, in the loader and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

# typer carries its own copy of click and does not re-export its exceptions.
from typer._click.exceptions import UsageError
from typer.testing import CliRunner

from definitions.loader import NotInEffectOn, UnknownProvisionType, load_catalog
from definitions.periods import View
from starter.cli_definitions import app
from tests.unit.test_definitions_loader import (
    problem_at,
    problems_in,
    simple_type,
    tasks,
    write_catalog,
)

runner = CliRunner()
APRIL = date(2027, 4, 1)


def versions(root: Path, **more: dict[str, Any]) -> Path:
    """`simple` until 31 March 2027 (types/a.yaml), and from 1 April with a third task
    (types/b.yaml); more files as given."""
    old = simple_type(effective_to="2027-03-31")
    new = simple_type(
        effective_from="2027-04-01",
        tasks=tasks(
            {"id": "first"},
            {"id": "second", "depends_on": ["first"]},
            {"id": "third", "depends_on": ["second"]},
        ),
    )
    return write_catalog(root, {"a.yaml": old, "b.yaml": new, **more})


@pytest.fixture(autouse=True)
def _no_configured_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORT_PROVISION_DEFINITIONS", raising=False)


# --- the catalog ------------------------------------------------------------------------------


def test_two_files_may_define_one_type_for_periods_that_do_not_overlap(tmp_path: Path) -> None:
    catalog = load_catalog(versions(tmp_path))
    old, new = catalog.versions["simple"]
    assert (old.effective_to, new.effective_from) == (date(2027, 3, 31), APRIL)
    assert catalog.definitions() == [old, new]
    assert (catalog.file_of(old), catalog.file_of(new)) == ("types/a.yaml", "types/b.yaml")
    assert catalog.type("simple", date(2027, 3, 31)) is old
    assert catalog.type("simple", APRIL) is new
    assert catalog.in_effect(APRIL) == [new]
    assert catalog.view(View.expired, APRIL) == [old]
    assert catalog.view(View.future, date(2027, 3, 31)) == [new]


def test_a_day_no_definition_covers_is_said_with_the_periods(tmp_path: Path) -> None:
    catalog = load_catalog(
        write_catalog(tmp_path, {"t.yaml": simple_type(effective_from="2027-04-01")})
    )
    with pytest.raises(NotInEffectOn) as refused:
        catalog.type("simple", date(2027, 3, 31))
    assert isinstance(refused.value, UnknownProvisionType)
    assert str(refused.value) == (
        'provision type "simple" has no definition in effect on 2027-03-31; its definitions '
        "are in effect from 2027-04-01 (types/t.yaml)"
    )


def test_overlapping_definitions_of_one_type_are_refused_naming_both(tmp_path: Path) -> None:
    overlapping = simple_type(effective_from="2027-03-01")
    problem = problem_at(
        problems_in(versions(tmp_path, **{"c.yaml": overlapping})),
        "effective_from",
        file="types/c.yaml",
    )
    assert problem.message == (
        '"simple" is also defined in types/a.yaml, in effect until 2027-03-31, and this '
        "definition is in effect from 2027-03-01; two definitions of one type may not be in "
        "effect on the same day, so end types/a.yaml sooner (its effective_to before this "
        "effective_from) or start this one later"
    )
    # ...and the one from 1 April overlaps it too, reported at the later one.
    later = problem_at(problems_in(versions(tmp_path)), "effective_from", file="types/b.yaml")
    assert "types/c.yaml, in effect from 2027-03-01" in later.message


def test_one_day_in_common_is_an_overlap(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path,
        {
            "a.yaml": simple_type(effective_to="2027-04-01"),
            "b.yaml": simple_type(effective_from="2027-04-01"),
        },
    )
    problem_at(problems_in(root), "effective_from", file="types/b.yaml")


def test_a_period_that_ends_before_it_starts_is_refused_at_its_end(tmp_path: Path) -> None:
    broken = simple_type(effective_from="2027-04-01", effective_to="2027-03-31")
    problem = problem_at(problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "effective_to")
    assert problem.message.startswith("2027-03-31 is before effective_from 2027-04-01")


def test_a_date_that_is_not_a_day_is_refused_at_its_field(tmp_path: Path) -> None:
    text = (
        "id: simple\nname: Simple\ncategory: assessment\naudience: internal\n"
        "effective_from: 2027-04-01 09:00:00\n"
        "tasks:\n  - id: first\n    name: First\n    effective_to: 31/03/2027\n"
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": text}))
    assert problem_at(problems, "effective_from").message == (
        '"2027-04-01 09:00:00" is not a day; write the date alone as YYYY-MM-DD, e.g. 2027-04-01'
    )
    assert problem_at(problems, "tasks[0].effective_to").message.startswith(
        '"31/03/2027" is not a day'
    )


def test_the_rules_of_a_type_hold_on_every_day_it_is_in_effect(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks(
            {"id": "first", "effective_to": "2027-03-31"}, {"id": "second", "depends_on": ["first"]}
        )
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert [str(p) for p in problems] == [
        'types/t.yaml: tasks[1].depends_on[0]: "first" is not in effect on 2027-04-01 (it is '
        "until 2027-03-31), but this task is, and would wait for a task its case never has; "
        'end this task when "first" ends, or extend "first"'
    ]


def test_a_follow_on_type_must_be_in_effect_whenever_the_type_that_opens_it_is(
    tmp_path: Path,
) -> None:
    opener = simple_type(
        "opener", outcomes=[{"id": "refer", "label": "Refer", "follow_on_type": "simple"}]
    )
    root = write_catalog(
        tmp_path, {"o.yaml": opener, "s.yaml": simple_type(effective_to="2027-03-31")}
    )
    problem = problem_at(problems_in(root), "outcomes[0].follow_on_type", file="types/o.yaml")
    assert problem.message.startswith(
        '"simple" has no definition in effect on 2027-04-01, while this type is (always)'
    )
    assert load_catalog(versions(tmp_path / "covered", **{"o.yaml": opener}))


def test_a_follow_on_rule_has_no_period_of_its_own(tmp_path: Path) -> None:
    rule = {
        "id": "stalled",
        "trigger": "stagnation",
        "stagnation_after": "5 days",
        "template": "stagnation-nudge",
        "follow_on": [
            {"id": "again", "after": "2 days", "template": "t", "effective_from": "2027-04-01"}
        ],
    }
    broken = simple_type(escalations=[rule])
    location = "escalations[0].follow_on[0].effective_from"
    problem = problem_at(problems_in(write_catalog(tmp_path, {"t.yaml": broken})), location)
    assert problem.message.startswith("a follow-on rule has no period of its own")


# --- the command line --------------------------------------------------------------------------


def listed(*args: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["list", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_shows_what_is_in_effect_on_a_day_and_the_three_views(tmp_path: Path) -> None:
    root = str(versions(tmp_path))
    on_31_march = listed("--definitions", root, "--at", "2027-03-31")
    assert [(r["file"], r["task_count"], r["effective_to"]) for r in on_31_march] == [
        ("types/a.yaml", 2, "2027-03-31")
    ]
    assert [r["file"] for r in listed("--definitions", root, "--at", "2027-04-01")] == [
        "types/b.yaml"
    ]
    future = listed("--definitions", root, "--at", "2027-03-31", "--view", "future")
    assert [(r["file"], r["task_count"], r["effective_from"]) for r in future] == [
        ("types/b.yaml", 3, "2027-04-01")
    ]
    expired = listed("--definitions", root, "--at", "2027-04-01", "--view", "expired")
    assert [r["file"] for r in expired] == ["types/a.yaml"]
    assert listed("--definitions", root, "--at", "2027-03-31", "--view", "expired") == []


def test_list_for_people_shows_the_periods(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["list", "--definitions", str(versions(tmp_path)), "--at", "2027-04-01"]
    )
    assert result.exit_code == 0, result.output
    assert "Provision types in effect on 2027-04-01" in result.stdout
    assert "from 2027-04-01" in result.stdout
    assert "1 provision type (2 definitions)" in result.stdout
    result = runner.invoke(
        app, ["list", "--definitions", str(tmp_path), "--at", "2020-01-01", "--view", "expired"]
    )
    assert "Provision type definitions that ended before 2020-01-01: none." in result.stdout


def test_the_shipped_catalog_is_all_current_today() -> None:
    assert len(listed()) == 5
    assert listed("--view", "expired") == [] and listed("--view", "future") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--at", "1 April"],
            "Invalid value for '--at': '1 April' is not a day that exists, written YYYY-MM-DD, "
            "e.g. 2027-04-01",
        ),
        (
            ["--at", "2026-13-01"],
            "Invalid value for '--at': '2026-13-01' is not a day that exists, written "
            "YYYY-MM-DD, e.g. 2027-04-01",
        ),
        (
            ["--view", "past"],
            "Invalid value for '--view': there is no view 'past'; choose current, expired or "
            "future",
        ),
    ],
)
def test_a_mistyped_day_or_view_is_a_command_line_mistake(args: list[str], message: str) -> None:
    """Exit 2, told in one line by `starter.cli.main` (tests/e2e/test_cli_usage.py)."""
    result = runner.invoke(app, ["list", *args], standalone_mode=False)
    assert isinstance(result.exception, UsageError), result.output
    assert (result.exception.exit_code, result.exception.format_message()) == (2, message)


def test_show_gives_the_type_as_a_case_opening_that_day_gets_it(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path,
        {
            "t.yaml": simple_type(
                tasks=tasks(
                    {"id": "first"},
                    {"id": "second", "depends_on": ["first"], "effective_to": "2027-03-31"},
                )
            )
        },
    )
    before = runner.invoke(
        app, ["show", "simple", "--definitions", str(root), "--at", "2027-03-31"]
    )
    assert before.exit_code == 0, before.output
    assert "second: Second" in before.stdout and "in effect: until 2027-03-31" in before.stdout
    after = runner.invoke(
        app, ["show", "simple", "--definitions", str(root), "--at", "2027-04-01", "--json"]
    )
    assert [t["id"] for t in json.loads(after.stdout)["tasks"]] == ["first"]
    people = runner.invoke(
        app, ["show", "simple", "--definitions", str(root), "--at", "2027-04-01"]
    )
    assert "tasks not in effect on 2027-04-01: second" in people.stdout


def test_show_of_a_type_not_in_effect_that_day_is_one_line(tmp_path: Path) -> None:
    root = versions(tmp_path / "v")
    result = runner.invoke(
        app, ["show", "simple", "--definitions", str(root), "--at", "2026-01-01"]
    )
    assert result.exit_code == 0  # the old definition has no start
    root = write_catalog(tmp_path / "f", {"t.yaml": simple_type(effective_from="2027-04-01")})
    result = runner.invoke(
        app, ["show", "simple", "--definitions", str(root), "--at", "2027-03-31"]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        'provision type "simple" has no definition in effect on 2027-03-31; its definitions '
        "are in effect from 2027-04-01 (types/t.yaml); show one of them with --at DATE"
    )


def test_a_day_that_does_not_exist_is_refused_at_its_field_beside_the_file_s_other_problems(
    tmp_path: Path,
) -> None:
    """PyYAML fails on an unquoted 2026-02-30, and the whole file "could not be read"."""
    text = (
        "id: simple\nname: Simple\ncategory: assessment\naudience: internal\n"
        "effective_from: 2026-02-30\nnmae: typo\n"
        "tasks:\n  - id: first\n    name: First\n    effective_to: 2027-04-31\n"
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": text}))
    assert problem_at(problems, "effective_from").message == (
        '"2026-02-30" is not a day of the calendar (day is out of range for month); '
        "write a day that exists, as YYYY-MM-DD"
    )
    assert problem_at(problems, "tasks[0].effective_to").message.startswith('"2027-04-31" is not')
    assert problem_at(problems, "nmae")
