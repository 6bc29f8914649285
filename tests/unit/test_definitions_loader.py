"""The definitions loader: the shipped catalog is valid, and every kind of mistake an
administrator can make is reported with its file, its field path and a helpful message."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from definitions.loader import (
    Catalog,
    DefinitionsInvalid,
    Problem,
    UnknownProvisionType,
    default_definitions_dir,
    load_catalog,
    validate_catalog,
)
from definitions.schema import ResponseType

SHIPPED = Path(__file__).resolve().parents[2] / "definitions" / "catalog"


# --- helpers for writing small (broken) catalogs ------------------------------------------


def simple_type(type_id: str = "simple", **overrides: Any) -> dict[str, Any]:
    """A valid type with two tasks, `first` then `second`; override keys to break it."""
    data: dict[str, Any] = {
        "id": type_id,
        "name": "Simple",
        "category": "assessment",
        "audience": "internal",
        "calendar": "england-and-wales",
        "tasks": [
            {"id": "first", "name": "First"},
            {"id": "second", "name": "Second", "depends_on": ["first"]},
        ],
    }
    data.update(overrides)
    return data


def tasks(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    """Task dicts with a name filled in."""
    return [{"name": spec["id"].replace("-", " ").title(), **spec} for spec in specs]


def write_catalog(
    root: Path, types: dict[str, dict[str, Any] | str | bytes], *, calendars: bool = True
) -> Path:
    """A definitions directory holding the shipped calendars and the given type files."""
    (root / "types").mkdir(parents=True, exist_ok=True)
    if calendars:
        shutil.copy(SHIPPED / "calendars.yaml", root / "calendars.yaml")
    for name, content in types.items():
        path = root / "types" / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return root


def problems_in(root: Path) -> list[Problem]:
    catalog, problems = validate_catalog(root)
    assert catalog is None
    assert problems
    return problems


def problem_at(problems: list[Problem], location: str, file: str = "types/t.yaml") -> Problem:
    found = [p for p in problems if p.location == location and p.file == file]
    assert len(found) == 1, f"expected one problem at {file}: {location}, got:\n" + "\n".join(
        map(str, problems)
    )
    return found[0]


# --- the shipped catalog ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(SHIPPED)


def test_shipped_catalog_has_no_problems() -> None:
    catalog, problems = validate_catalog(SHIPPED)
    assert problems == []
    assert catalog is not None


def test_shipped_catalog_has_the_four_types(shipped: Catalog) -> None:
    assert {
        "tenancy-sustainment-assessment",
        "financial-inclusion-support-plan",
        "hoarding-property-condition-support-plan",
        "safeguarding-review",
    } <= set(shipped.versions)
    for provision_type in shipped.definitions():
        assert 2 <= len(provision_type.tasks) <= 8, provision_type.id
        assert provision_type.calendar in shipped.calendars
        assert shipped.file_of(provision_type) == f"types/{provision_type.id}.yaml"


def test_shipped_catalog_uses_every_feature(shipped: Catalog) -> None:
    all_tasks = [task for t in shipped.definitions() for task in t.tasks]
    used = {info.response_type for task in all_tasks for info in task.fields}
    assert used == set(ResponseType)
    assert any(task.repeatable for task in all_tasks)
    assert any(not task.automatic for task in all_tasks)
    assert any(not task.mandatory for task in all_tasks)
    assert any(o.adds_tasks for task in all_tasks for o in task.outcomes)
    assert any(d.lag for task in all_tasks for d in task.depends_on)
    follow_ons = {o.follow_on_type for t in shipped.definitions() for o in t.outcomes}
    assert "financial-inclusion-support-plan" in follow_ons
    assessment = shipped.type("tenancy-sustainment-assessment")
    assert assessment.task("interpreter-arranged").automatic is False
    assert shipped.type("safeguarding-review").task("safeguarding-lead-triage").sla.target == (
        "4 working hours"
    )


def test_unknown_type_lists_the_known_ones(shipped: Catalog) -> None:
    with pytest.raises(KeyError) as raised:
        shipped.type("tenancy-sustainment-assesment")
    assert isinstance(raised.value, UnknownProvisionType)
    message = str(raised.value)
    assert "tenancy-sustainment-assesment" in message
    assert "safeguarding-review" in message
    assert 'did you mean "tenancy-sustainment-assessment"' in message


def test_default_directory_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SUPPORT_PROVISION_DEFINITIONS", raising=False)
    assert default_definitions_dir().resolve() == SHIPPED
    monkeypatch.setenv("SUPPORT_PROVISION_DEFINITIONS", str(tmp_path))
    assert default_definitions_dir() == tmp_path


def test_a_small_catalog_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, {"t.yaml": simple_type()}))
    assert list(catalog.versions) == ["simple"]
    assert catalog.files == {("simple", None): "types/t.yaml"}
    assert catalog.directory == tmp_path


# --- references between tasks --------------------------------------------------------------


def test_unknown_dependency_names_the_known_tasks(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks({"id": "home-visit"}, {"id": "risk-assessment", "depends_on": ["home-vist"]})
    )
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[1].depends_on[0]"
    )
    assert '"home-vist" is not a task of this type' in problem.message
    assert 'did you mean "home-visit"' in problem.message
    assert "tasks are: home-visit, risk-assessment" in problem.message
    assert str(problem).startswith("types/t.yaml: tasks[1].depends_on[0]: ")


def test_unknown_dependency_in_long_form_points_at_its_task_key(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks({"id": "first"}, {"id": "second", "depends_on": [{"task": "elsewhere"}]})
    )
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[1].depends_on[0].task"
    )
    assert '"elsewhere" is not a task of this type' in problem.message


def test_unknown_task_added_by_an_outcome(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks(
            {"id": "first", "outcomes": [{"id": "done", "label": "Done", "adds_tasks": ["third"]}]},
            {"id": "second"},
        )
    )
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})),
        "tasks[0].outcomes[0].adds_tasks[0]",
    )
    assert '"third" is not a task of this type; tasks are: first, second' in problem.message


def test_dependency_cycle_is_named(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks(
            {"id": "start"},
            {"id": "home-visit", "depends_on": ["start", "review"]},
            {"id": "risk-assessment", "depends_on": ["home-visit"]},
            {"id": "review", "depends_on": ["risk-assessment"]},
        )
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert len(problems) == 1
    problem = problem_at(problems, "tasks[1].depends_on[1]")
    assert "home-visit -> review -> risk-assessment -> home-visit" in problem.message
    assert "remove one of these dependencies" in problem.message


def test_two_task_cycle_is_named(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks(
            {"id": "home-visit", "depends_on": ["risk-assessment"]},
            {"id": "risk-assessment", "depends_on": ["home-visit"]},
            {"id": "other"},
        )
    )
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[0].depends_on[0]"
    )
    assert "home-visit -> risk-assessment -> home-visit" in problem.message


def test_task_depending_on_itself(tmp_path: Path) -> None:
    broken = simple_type(tasks=tasks({"id": "first"}, {"id": "second", "depends_on": ["second"]}))
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert len(problems) == 1
    assert "depends on itself" in problem_at(problems, "tasks[1].depends_on[0]").message


def test_same_dependency_twice(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=tasks({"id": "first"}, {"id": "second", "depends_on": ["first", "first"]})
    )
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[1].depends_on[1]"
    )
    assert "listed twice" in problem.message


# --- duplicate ids -----------------------------------------------------------------------------


def test_duplicate_task_ids(tmp_path: Path) -> None:
    broken = simple_type(tasks=tasks({"id": "first"}, {"id": "second"}, {"id": "first"}))
    problem = problem_at(problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[2].id")
    assert '"first" is already the id of tasks[0]' in problem.message


def test_duplicate_outcome_ids_on_tasks_and_cases(tmp_path: Path) -> None:
    twice = [{"id": "done", "label": "Done"}, {"id": "done", "label": "Done again"}]
    broken = simple_type(
        tasks=tasks({"id": "first", "outcomes": twice}, {"id": "second"}), outcomes=twice
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert "outcome ids must be unique" in problem_at(problems, "outcomes[1].id").message
    assert '"done" is already the id of tasks[0].outcomes[0]' in (
        problem_at(problems, "tasks[0].outcomes[1].id").message
    )


def test_duplicate_field_ids(tmp_path: Path) -> None:
    fields = [
        {"id": "notes", "label": "Notes", "response_type": "text"},
        {"id": "notes", "label": "More notes", "response_type": "text"},
    ]
    broken = simple_type(tasks=tasks({"id": "first", "fields": fields}))
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks[0].fields[1].id"
    )
    assert "field ids must be unique" in problem.message


def test_duplicate_type_ids_across_files(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, {"a.yaml": simple_type("same"), "b.yaml": simple_type("same")})
    problem = problem_at(problems_in(root), "id", file="types/b.yaml")
    assert '"same" is already the id of the provision type in types/a.yaml' in problem.message


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    text = yaml.safe_dump(simple_type(), sort_keys=False) + "name: Again\n"
    problem = problem_at(problems_in(write_catalog(tmp_path, {"t.yaml": text})), "name")
    assert "appears twice" in problem.message
    assert "line" in problem.message


# --- pydantic errors, translated -------------------------------------------------------------


def test_invalid_enum_value(tmp_path: Path) -> None:
    fields = [{"id": "count", "label": "Count", "response_type": "number"}]
    broken = simple_type(category="assesment", tasks=tasks({"id": "first", "fields": fields}))
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    message = problem_at(problems, "tasks[0].fields[0].response_type").message
    assert message.startswith('"number" is not one of text, integer, decimal, date')
    assert "multi_lookup" in message
    category = problem_at(problems, "category").message
    assert '"assesment" is not one of assessment, support_plan' in category
    assert 'did you mean "assessment"' in category


def test_unknown_key_is_named(tmp_path: Path) -> None:
    broken = simple_type(tasks=tasks({"id": "first", "mandatry": False}), colour="red")
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    task_key = problem_at(problems, "tasks[0].mandatry").message
    assert 'unexpected key "mandatry"' in task_key
    assert 'did you mean "mandatory"' in task_key
    assert "allowed keys here are: id, name" in task_key
    assert 'unexpected key "colour"' in problem_at(problems, "colour").message


def test_missing_and_malformed_values(tmp_path: Path) -> None:
    broken = simple_type(
        tasks=[
            {"id": "Home Visit", "name": "Home visit"},
            {"id": "second"},
            {
                "id": "third",
                "name": "Third",
                "fields": [{"id": "a", "label": "A", "response_type": "lookup"}],
            },
        ]
    )
    del broken["audience"]
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert "is required" in problem_at(problems, "audience").message
    assert "is required" in problem_at(problems, "tasks[1].name").message
    bad_id = problem_at(problems, "tasks[0].id").message
    assert '"Home Visit" is not a valid id' in bad_id
    assert '"home-visit"' in bad_id
    assert "needs a list of `options`" in problem_at(problems, "tasks[2].fields[0]").message


def test_yaml_booleans_in_options_get_a_quoting_hint(tmp_path: Path) -> None:
    text = """\
id: simple
name: Simple
category: assessment
audience: internal
calendar: england-and-wales
tasks:
  - id: first
    name: First
    fields:
      - {id: agreed, label: Agreed, response_type: lookup, options: [yes, no]}
"""
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": text}))
    assert "put it in quotes" in problem_at(problems, "tasks[0].fields[0].options[0]").message


# --- the shape of a type -----------------------------------------------------------------


def test_type_without_tasks(tmp_path: Path) -> None:
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": simple_type(tasks=[])}))
    assert len(problems) == 1
    assert "no tasks" in problem_at(problems, "tasks").message


def test_type_without_an_automatic_task(tmp_path: Path) -> None:
    broken = simple_type(tasks=tasks({"id": "first", "automatic": False}))
    problem = problem_at(problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "tasks")
    assert "no task is automatic" in problem.message


def test_unknown_follow_on_type(tmp_path: Path) -> None:
    broken = simple_type(
        outcomes=[{"id": "need", "label": "Need", "follow_on_type": "financial-inclusion"}]
    )
    root = write_catalog(
        tmp_path, {"t.yaml": broken, "u.yaml": simple_type("financial-inclusion-plan")}
    )
    problem = problem_at(problems_in(root), "outcomes[0].follow_on_type")
    assert '"financial-inclusion" is not a provision type' in problem.message
    assert "provision types are: financial-inclusion-plan, simple" in problem.message


def test_follow_on_type_on_a_task_outcome(tmp_path: Path) -> None:
    outcome = {"id": "need", "label": "Need", "follow_on_type": "simple"}
    broken = simple_type(tasks=tasks({"id": "first", "outcomes": [outcome]}))
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})),
        "tasks[0].outcomes[0].follow_on_type",
    )
    assert "only case outcomes" in problem.message


def test_case_outcome_adding_tasks(tmp_path: Path) -> None:
    broken = simple_type(outcomes=[{"id": "done", "label": "Done", "adds_tasks": ["first"]}])
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": broken})), "outcomes[0].adds_tasks"
    )
    assert "cannot add tasks" in problem.message


def test_unknown_calendar(tmp_path: Path) -> None:
    problem = problem_at(
        problems_in(write_catalog(tmp_path, {"t.yaml": simple_type(calendar="englnd")})),
        "calendar",
    )
    assert '"englnd" is not a calendar in calendars.yaml' in problem.message
    assert "england-and-wales" in problem.message


def test_default_calendar_must_exist(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path, {"t.yaml": {k: v for k, v in simple_type().items() if k != "calendar"}}
    )
    assert validate_catalog(root)[1] == []
    (root / "calendars.yaml").write_text(
        "calendars:\n  - {id: office, name: Office, kind: continuous}\n", encoding="utf-8"
    )
    problem = problem_at(problems_in(root), "calendar")
    assert '"24x7" (the default when `calendar` is not set) is not a calendar' in problem.message


def test_unparseable_durations(tmp_path: Path) -> None:
    broken = simple_type(
        sla={"target": "10 workin days", "warning": "2 working days"},
        tasks=tasks(
            {"id": "first", "sla": {"target": "3 days", "warning": "soon"}},
            {"id": "second", "depends_on": [{"task": "first", "lag": "a while"}]},
        ),
    )
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": broken}))
    assert len(problems) == 3
    assert "10 working days" in problem_at(problems, "sla.target").message
    assert '"soon" is not a duration' in problem_at(problems, "tasks[0].sla.warning").message
    assert '"a while"' in problem_at(problems, "tasks[1].depends_on[0].lag").message


@pytest.mark.parametrize(
    ("target", "warning", "valid"),
    [
        ("10 working days", "2 working days", True),
        ("10 working days", "10 working days", False),
        ("4 working hours", "6 working hours", False),
        ("2 days", "48 hours", False),
        ("1 working day", "6 working hours", True),
    ],
)
def test_warning_must_be_shorter_than_target(
    tmp_path: Path, target: str, warning: str, valid: bool
) -> None:
    root = write_catalog(
        tmp_path, {"t.yaml": simple_type(sla={"target": target, "warning": warning})}
    )
    catalog, problems = validate_catalog(root)
    if valid:
        assert problems == []
    else:
        assert "is not shorter than the target" in problem_at(problems, "sla.warning").message


# --- files and directories ---------------------------------------------------------------


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    text = "id: simple\nname: Simple\ntasks:\n  - id: first\n   name: First\n"
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": text}))
    problem = problem_at(problems, "")
    assert "is not valid YAML" in problem.message
    assert "line 5" in problem.message


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": "- one\n- two\n", "e.yaml": ""}))
    assert "should be a mapping" in problem_at(problems, "").message
    assert "is empty" in problem_at(problems, "", file="types/e.yaml").message


def test_unreadable_files(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, {"latin1.yaml": "name: Caf\xe9\n".encode("latin-1")})
    (root / "types" / "folder.yaml").mkdir()
    problems = problems_in(root)
    assert "could not be read" in problem_at(problems, "", file="types/folder.yaml").message
    assert "not UTF-8" in problem_at(problems, "", file="types/latin1.yaml").message


def test_self_referencing_yaml_alias_does_not_crash(tmp_path: Path) -> None:
    problems = problems_in(write_catalog(tmp_path, {"t.yaml": "id: simple\nloop: &a [*a]\n"}))
    assert problems == [
        Problem(
            "types/t.yaml",
            "line 2",
            "the alias *a names a value that contains it, so that value would never end; "
            "remove the alias",
        )
    ]


def test_missing_directory(tmp_path: Path) -> None:
    problems = problems_in(tmp_path / "nowhere")
    assert len(problems) == 1
    assert "does not exist" in problems[0].message


def test_directory_without_types(tmp_path: Path) -> None:
    problems = problems_in(write_catalog(tmp_path, {}))
    assert "no provision types found" in problem_at(problems, "", file="types").message
    shutil.rmtree(tmp_path / "types")
    assert "directory not found" in problem_at(problems_in(tmp_path), "", file="types").message


def test_missing_calendars_file(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, {"t.yaml": simple_type()}, calendars=False)
    problems = problems_in(root)
    assert len(problems) == 1
    assert "not found" in problem_at(problems, "", file="calendars.yaml").message


def test_broken_calendars_file(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, {"t.yaml": simple_type()}, calendars=False)
    (root / "calendars.yaml").write_text(
        "calendars:\n  - {id: office, name: Office, kind: working_time, timezone: Europe/Londn,"
        " working_days: [monday], opens: '09:00', closes: '17:00', bank_holidays: null}\n"
    )
    problems = problems_in(root)
    assert all(p.file == "calendars.yaml" for p in problems)
    assert "Europe/Londn" in problem_at(problems, "calendars[0].timezone", "calendars.yaml").message


# --- everything at once --------------------------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad_field = {"id": "count", "label": "Count", "response_type": "number"}
    broken = simple_type(
        tasks=tasks(
            {"id": "first", "fields": [bad_field]},
            {"id": "second", "depends_on": ["frist"]},
            {"id": "third", "depends_on": ["fourth"]},
            {"id": "fourth", "depends_on": ["third"], "colour": "red"},
        ),
        outcomes=[{"id": "next", "label": "Next", "follow_on_type": "nowhere"}],
    )
    root = write_catalog(
        tmp_path,
        {
            "t.yaml": broken,
            "u.yaml": "id: [unclosed\n",
            "v.yaml": simple_type("other", tasks=[]),
        },
    )
    problems = problems_in(root)
    located = {(p.file, p.location) for p in problems}
    assert {
        ("types/t.yaml", "tasks[0].fields[0].response_type"),
        ("types/t.yaml", "tasks[1].depends_on[0]"),
        ("types/t.yaml", "tasks[2].depends_on[0]"),
        ("types/t.yaml", "tasks[3].colour"),
        ("types/t.yaml", "outcomes[0].follow_on_type"),
        ("types/u.yaml", ""),
        ("types/v.yaml", "tasks"),
    } <= located
    assert [p.file for p in problems] == sorted(p.file for p in problems)

    with pytest.raises(DefinitionsInvalid) as raised:
        load_catalog(root)
    assert raised.value.problems == problems
    text = str(raised.value)
    assert f"{len(problems)} problems in the definitions" in text
    assert all(str(p) in text for p in problems)


def test_problem_reads_as_file_location_message() -> None:
    assert (
        str(Problem("types/a.yaml", "tasks[0].id", "wrong")) == "types/a.yaml: tasks[0].id: wrong"
    )
    assert str(Problem("types/a.yaml", "", "empty")) == "types/a.yaml: empty"
