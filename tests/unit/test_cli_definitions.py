"""`support-provision definitions`: exit codes, output streams and the JSON contracts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from definitions.schema import ProvisionType
from starter.cli_definitions import app

SHIPPED = Path(__file__).resolve().parents[2] / "definitions" / "catalog"
runner = CliRunner()


def write_catalog(root: Path, types: dict[str, dict[str, Any] | str]) -> Path:
    """A definitions directory holding the shipped calendars and the given type files."""
    (root / "types").mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED / "calendars.yaml", root / "calendars.yaml")
    for name, content in types.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        (root / "types" / name).write_text(text, encoding="utf-8")
    return root


def simple_type(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "simple",
        "name": "Simple",
        "category": "assessment",
        "audience": "internal",
        "calendar": "england-and-wales",
        "tasks": [{"id": "first", "name": "First"}],
    }
    return {**data, **overrides}


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    bad = simple_type(
        tasks=[
            {"id": "first", "name": "First", "depends_on": ["frist"]},
            {"id": "second", "name": "Second", "colour": "red"},
        ]
    )
    return write_catalog(tmp_path, {"t.yaml": bad, "u.yaml": "id: [oops\n"})


@pytest.fixture(autouse=True)
def _no_configured_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORT_PROVISION_DEFINITIONS", raising=False)


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- validate ----------------------------------------------------------------------------


def test_validate_shipped_catalog() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    # Warnings, if any, are counted after it (tests/unit/test_type_advice.py).
    assert ": all valid" in result.stdout.strip()
    assert "provision types" in result.stdout and "5 calendars" in result.stdout


def test_validate_reports_every_problem_on_stderr(broken: Path) -> None:
    result = runner.invoke(app, ["validate", str(broken)])
    assert result.exit_code == 1
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("types/t.yaml: tasks[0].depends_on[0]: ") for line in lines)
    assert any(
        line.startswith('types/t.yaml: tasks[1].colour: unexpected key "colour"') for line in lines
    )
    assert any(line.startswith("types/u.yaml: is not valid YAML") for line in lines)
    assert lines[-1] == f"3 problems in {broken}"
    assert result.stdout == ""


def test_validate_json(broken: Path) -> None:
    result = runner.invoke(app, ["validate", str(broken), "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert len(payload["problems"]) == 3
    for problem in payload["problems"]:
        assert set(problem) == {"file", "location", "message"}

    valid = runner.invoke(app, ["validate", str(SHIPPED), "--json"])
    assert valid.exit_code == 0
    shown = json.loads(valid.stdout)
    assert {key: shown[key] for key in ("valid", "problems")} == {"valid": True, "problems": []}
    for warning in shown["warnings"]:
        assert set(warning) == {"file", "location", "message"}


def test_validate_missing_or_unreadable_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    no_traceback(result)
    assert "does not exist" in result.stderr

    root = write_catalog(tmp_path / "defs", {})
    (root / "types" / "folder.yaml").mkdir()
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    no_traceback(result)
    assert "types/folder.yaml: could not be read" in result.stderr


def test_validate_uses_the_configured_directory(
    broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_PROVISION_DEFINITIONS", str(broken))
    assert runner.invoke(app, ["validate"]).exit_code == 1


# --- list --------------------------------------------------------------------------------


def test_list_json_is_stable() -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    by_id = {row["id"]: row for row in rows}
    assert set(rows[0]) == {
        "id",
        "name",
        "category",
        "audience",
        "task_count",
        "file",
        "effective_from",
        "effective_to",
    }
    assert by_id["safeguarding-review"]["category"] == "assessment"
    assert by_id["safeguarding-review"]["audience"] == "internal"
    assert by_id["financial-inclusion-support-plan"]["category"] == "support_plan"
    assert all(isinstance(row["task_count"], int) and row["task_count"] >= 2 for row in rows)


def test_list_for_people(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "hoarding-property-condition-support-plan" in result.stdout
    assert "Tenancy sustainment assessment" in result.stdout

    mine = write_catalog(tmp_path, {"t.yaml": simple_type()})
    result = runner.invoke(app, ["list", "--definitions", str(mine), "--json"])
    assert [row["id"] for row in json.loads(result.stdout)] == ["simple"]


def test_list_with_invalid_definitions(broken: Path) -> None:
    result = runner.invoke(app, ["list", "--definitions", str(broken)])
    assert result.exit_code == 1
    no_traceback(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "3 problems" in result.stderr and "definitions validate" in result.stderr


# --- show --------------------------------------------------------------------------------


def test_show_for_people() -> None:
    result = runner.invoke(app, ["show", "tenancy-sustainment-assessment"])
    assert result.exit_code == 0, result.output
    for text in (
        "home-visit",
        "depends on: initial-contact",
        "manual only",
        "optional",
        "repeatable",
        "risk-level",
        "multi_lookup",
        "20 working days",
        "opens financial-inclusion-support-plan",
    ):
        assert text in result.stdout, text


def test_show_lists_a_tasks_paths_and_a_fields_bounds() -> None:
    result = runner.invoke(app, ["show", "financial-inclusion-support-plan"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for text in (
        "refer-for-debt-advice: when arrears-amount above 500 -> adds debt-advice-referral",
        "tell-money-advice-partners: outcome referral-accepted -> sends debt-advice-referral",
        "when arrears-at-review at most 0 -> completes the case: arrears-cleared",
        "Number of dependent children [integer] from 0 to 30",
    ):
        assert text in result.stdout, text


def test_show_json_round_trips() -> None:
    result = runner.invoke(app, ["show", "safeguarding-review", "--json"])
    assert result.exit_code == 0
    provision_type = ProvisionType.model_validate(json.loads(result.stdout))
    assert provision_type.id == "safeguarding-review"


def test_show_unknown_type() -> None:
    result = runner.invoke(app, ["show", "safeguarding"])
    assert result.exit_code == 1
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert '"safeguarding"' in lines[0] and "safeguarding-review" in lines[0]
    assert result.stdout == ""


# --- every stage in one run --------------------------------------------------------------


def test_validate_reports_the_problems_of_every_stage_in_one_run(tmp_path: Path) -> None:
    """Fixing one problem must not reveal the next: file, schema, rules, directory and
    template problems all come out of the same run."""
    rule = {"trigger": "stagnation", "stagnation_after": "5 days"}
    broken_schema = simple_type(
        default_owner="nobody-we-know",
        tasks=[
            {
                "id": "first",
                "name": "First",
                "colour": "red",
                "escalations": [{"id": "nudge", "template": "no-such-template", **rule}],
            },
            {"id": "second", "name": "Second", "depends_on": ["frist"]},
        ],
    )
    broken_references = simple_type(
        id="referring",
        tasks=[
            {
                "id": "first",
                "name": "First",
                "owner": "income-oficer",
                "escalations": [
                    {
                        "id": "nudge",
                        "template": "stagnation-nudge",
                        "notify": {"groups": ["safeguarding-panle"]},
                        "reassign_to": "someone-else",
                        **rule,
                    }
                ],
            }
        ],
    )
    root = write_catalog(
        tmp_path / "defs",
        {
            "a.yaml": broken_schema,
            "b.yaml": broken_references,
            "c.yaml": "id: [unclosed\n",
            "d.yaml": simple_type(id="huge", sla={"target": "9999999 working days"}),
        },
    )
    shutil.copytree(SHIPPED / "templates", root / "templates")
    (root / "templates" / "broken.subject.j2").write_text("{{ case.tenant }}")
    (root / "templates" / "broken.text.j2").write_text("ok")
    calendars = (root / "calendars.yaml").read_text()
    (root / "calendars.yaml").write_text(calendars.replace("Europe/London", "Europe/Londn", 1))

    result = runner.invoke(
        app, ["validate", str(root), "--directory", str(SHIPPED.parent / "directory.yaml")]
    )

    assert result.exit_code == 1
    no_traceback(result)
    lines = result.stderr.splitlines()

    def reported(start: str) -> bool:
        return any(line.startswith(start) for line in lines)

    assert reported("calendars.yaml: calendars[1].timezone: "), result.stderr
    assert reported('types/a.yaml: tasks[0].colour: unexpected key "colour"')
    assert reported('types/a.yaml: tasks[1].depends_on[0]: "frist" is not a task of this type')
    assert reported("types/a.yaml: default_owner: 'nobody-we-know' is not a person")
    assert reported(
        "types/a.yaml: tasks[0].escalations[0].template: there is no template 'no-such-template'"
    )
    assert reported("types/b.yaml: tasks[0].owner: 'income-oficer' is not a person")
    assert reported('types/b.yaml: tasks[0].escalations[0].notify.groups[0]: "safeguarding-panle"')
    assert reported('types/b.yaml: tasks[0].escalations[0].reassign_to: "someone-else"')
    assert reported("types/c.yaml: is not valid YAML")
    assert reported('types/d.yaml: sla.target: "9999999 working days" is longer than an SLA')
    assert reported("templates/broken.subject.j2:1: unknown field 'tenant'") or reported(
        "templates/broken.subject.j2: line 1: unknown field 'tenant'"
    )
    assert lines[-1] == f"{len(lines) - 1} problems in {root}"


def test_validate_checks_fixed_addresses_as_the_directory_checks_its_own(tmp_path: Path) -> None:
    """A fixed address of a rule, of a follow-on rule or of a path's communication that
    is not an email address is never mailed: validate says so with file and field, in the
    directory's words, beside the other problems of the file (here a key it refuses)."""
    tell = {"template": "stagnation-nudge", "notify": {"owner": False}}
    nudge = {
        "id": "nudge",
        "trigger": "stagnation",
        "stagnation_after": "5 days",
        **tell,
        "notify": {"addresses": ["duty.manager@example.org", "duty manager@example.org"]},
        "follow_on": [
            {"id": "again", "after": "2 days", **tell, "notify": {"addresses": ["@example.org"]}}
        ],
    }
    sends = {**tell, "notify": {"addresses": ["panel@localhost"]}}
    provision_type = simple_type(
        tasks=[
            {"id": "first", "name": "First", "colour": "red", "escalations": [nudge]},
            {"id": "second", "name": "Second", "paths": [{"id": "tell-panel", "sends": sends}]},
        ]
    )
    root = write_catalog(tmp_path / "defs", {"t.yaml": provision_type})
    shutil.copytree(SHIPPED / "templates", root / "templates")

    result = runner.invoke(
        app, ["validate", str(root), "--directory", str(SHIPPED.parent / "directory.yaml")]
    )

    assert result.exit_code == 1
    no_traceback(result)
    fixed = "types/t.yaml: tasks[0].escalations[0]"
    schema, *addresses = result.stderr.splitlines()
    assert schema.startswith('types/t.yaml: tasks[0].colour: unexpected key "colour"')
    assert addresses == [
        f'{fixed}.notify.addresses[1]: "duty manager@example.org" is not an email address (it '
        "contains a space); write it as name@example.org",
        f'{fixed}.follow_on[0].notify.addresses[0]: "@example.org" is not an email address (it '
        "has nothing before the @); write it as name@example.org",
        'types/t.yaml: tasks[1].paths[0].sends.notify.addresses[0]: "panel@localhost" is not an '
        "email address (what follows the @ is not a domain such as example.org); write it as "
        "name@example.org",
        f"4 problems in {root}",
    ]


def test_show_says_how_a_task_recurs() -> None:
    result = CliRunner().invoke(app, ["show", "financial-inclusion-support-plan"])
    assert result.exit_code == 0, result.output
    assert "recurs: every 1 week, 12 times, counted from the first occurrence" in result.stdout
    assert (
        "recurs: every 1 month, for 24 months, until an occurrence is completed "
        "arrears-cleared" in result.stdout
    )


def test_validate_reports_every_directory_problem_once_with_file_and_field(
    tmp_path: Path,
) -> None:
    """A bad field in the directory hides none of its other problems, and each is
    `file: field: message`, the file named once, as for the definitions files."""
    directory = yaml.safe_load((SHIPPED.parent / "directory.yaml").read_text())
    directory["services"][0]["may"] = ["fly"]
    directory["people"][0]["email"] = "not-an-email"
    directory["people"][1]["manager"] = "nobody-at-all"
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory, sort_keys=False))

    result = runner.invoke(app, ["validate", str(SHIPPED), "--directory", str(path)])

    assert result.exit_code == 1
    no_traceback(result)
    assert result.stderr.splitlines() == [
        f'{path}: people[0].email: "not-an-email" is not an email address (it has no @); '
        "write it as name@example.org",
        f"{path}: services[0].may: 'fly' is not a permission; permissions are open-case, "
        "complete-task, cancel-task, bypass-task, undo, hold-task, add-task, pause-case, "
        "close-case, revise-target, stop-recurrence",
        f"{path}: people[1].manager: 'nobody-at-all' is not a person in the directory",
        f"3 problems in {SHIPPED}",
    ]
    shown = json.loads(
        runner.invoke(app, ["validate", str(SHIPPED), "--directory", str(path), "--json"]).stdout
    )
    assert [(p["file"], p["location"]) for p in shown["problems"]] == [
        (str(path), "people[0].email"),
        (str(path), "services[0].may"),
        (str(path), "people[1].manager"),
    ]


def test_validate_reports_the_problem_of_every_member_of_a_group(tmp_path: Path) -> None:
    """A group's members are checked each on its own: one bad member, or a mistake of the
    group's own, hides none of the other members' problems (an unknown person, a member
    listed twice)."""
    directory = yaml.safe_load((SHIPPED.parent / "directory.yaml").read_text())
    panel, leads = directory["stakeholder_groups"][:2]
    assert panel["members"][1] == {"person": "joseph-adeyemi"}
    panel["members"][1] = {"person": "joseph-adeyem"}
    panel["members"].append({"address": "mash at council.example.org", "name": "MASH"})
    panel["members"].append({"person": "priya-shah"})
    leads["name"] = ""
    leads["members"].append({"person": "nobody-at-all"})
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory, sort_keys=False))

    result = runner.invoke(app, ["validate", str(SHIPPED), "--directory", str(path)])

    assert result.exit_code == 1
    no_traceback(result)
    at = f"{path}: stakeholder_groups"
    assert result.stderr.splitlines() == [
        f'{at}[0].members[6].address: "mash at council.example.org" is not an email address '
        "(it contains a space); write it as name@example.org",
        f"{at}[1].name: String should have at least 1 character",
        f"{at}[0].members[1].person: 'joseph-adeyem' is not a person in the directory "
        '(did you mean "joseph-adeyemi"?)',
        f"{at}[1].members[3].person: 'nobody-at-all' is not a person in the directory",
        f"{at}[0].members[7]: 'priya-shah' is listed twice in this group for days in common, "
        "at members[3] (no dates) and here (no dates); give each stretch of membership its "
        "own `from` and `until`, or remove one",
        f"5 problems in {SHIPPED}",
    ]
