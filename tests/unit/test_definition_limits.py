"""The size limits of the definitions (`definitions.limits`): files, YAML, texts, lists and
the snapshot a case carries, each refused with the file and the field or line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from activities.database.directory import DirectoryInvalid, load_directory
from definitions import limits
from definitions.calendars import CalendarFileError, load_calendar_definitions
from definitions.loader import Problem, load_catalog, validate_catalog
from definitions.schema import ProvisionType
from definitions.yaml_files import BoundedLoader, DefinitionFileRefused, read_definition_text
from tests.catalogs.broken import SHIPPED, TYPE_FILE, valid_type, write_valid_catalog


def compose(text: str) -> Any:
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- reading YAML --------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    at_limit, over = tmp_path / "at.yaml", tmp_path / "over.yaml"
    at_limit.write_bytes(b"#" * limits.FILE_BYTES)
    over.write_bytes(b"#" * (limits.FILE_BYTES + 1))
    assert len(read_definition_text(at_limit)) == limits.FILE_BYTES
    with pytest.raises(DefinitionFileRefused, match="the limit is 1,048,576 bytes"):
        read_definition_text(over)


def test_nesting_is_refused_past_the_limit_with_its_line() -> None:
    assert compose(f"x: {nested(limits.YAML_DEPTH - 1)}")  # the mapping is one level
    with pytest.raises(DefinitionFileRefused) as caught:
        compose(f"a: 1\nx: {nested(limits.YAML_DEPTH)}")
    assert caught.value.line == 2
    assert f"nested more than {limits.YAML_DEPTH} levels deep" in caught.value.message


def test_deep_nesting_costs_no_more_than_reading_the_file() -> None:
    started = time.process_time()
    with pytest.raises(DefinitionFileRefused):
        compose(nested(500_000))
    assert time.process_time() - started < 1


@pytest.mark.parametrize(
    "bomb",
    [
        # Billion laughs: each line repeats the one before nine times.
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"b{i}: &b{i} [{', '.join(['*' + prev] * 9)}]\n"
            for i, prev in enumerate(["a", *(f"b{j}" for j in range(8))])
        ),
        # The same through merge keys, which copy a mapping into each one that merges it.
        "a: &a {x: 1, y: 2, z: 3, w: 4}\n"
        + "".join(
            f"m{i}: &m{i} {{<<: [{', '.join(['*' + prev] * 8)}], k{i}: 1}}\n"
            for i, prev in enumerate(["a", *(f"m{j}" for j in range(8))])
        ),
    ],
    ids=["aliases", "merge-keys"],
)
def test_an_alias_bomb_is_refused_before_it_is_built(bomb: str) -> None:
    started = time.process_time()
    with pytest.raises(DefinitionFileRefused, match="more than 100,000 values") as caught:
        compose(bomb)
    assert caught.value.line is not None
    assert time.process_time() - started < 1


def test_aliases_that_repeat_a_little_are_fine() -> None:
    data = compose(
        "base: &notify {owner: true, groups: [panel]}\nfirst: *notify\nsecond: *notify\n"
    )
    assert data["first"] == data["second"] == {"owner": True, "groups": ["panel"]}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(
        DefinitionFileRefused, match=r"the alias \*loop names a value that contains"
    ):
        compose("x:\n  - &loop [1, *loop]\n")


def test_the_calendars_file_is_read_within_the_same_limits(tmp_path: Path) -> None:
    path = tmp_path / "calendars.yaml"
    path.write_text(f"calendars: {nested(100)}\n")
    with pytest.raises(CalendarFileError) as caught:
        load_calendar_definitions(path)
    assert caught.value.problems == [
        f"calendars.yaml: line 1: mappings and lists are nested more than {limits.YAML_DEPTH} "
        "levels deep here; a definition needs far fewer, so check the brackets and indentation"
    ]
    path.write_text("calendars: 1" + "0" * 5_000 + "\n")
    with pytest.raises(CalendarFileError, match="could not be read"):
        load_calendar_definitions(path)


def test_a_number_too_long_to_read_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    root = write_valid_catalog(tmp_path / "defs")
    (root / TYPE_FILE).write_text("id: simple\nname: 1" + "0" * 5_000 + "\n")
    _, problems = validate_catalog(root)
    assert [(p.file, p.location) for p in problems] == [(TYPE_FILE, "")]
    assert problems[0].message.startswith("could not be read: ")


# --- texts and lists -----------------------------------------------------------------------


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**valid_type(), **changes}


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"name": "x" * (limits.NAME_LENGTH + 1)}, "name"),
        ({"description": "x" * (limits.DESCRIPTION_LENGTH + 1)}, "description"),
        ({"services": ["x"] * (limits.SERVICES + 1)}, "services"),
        ({"partner_agencies": ["x" * (limits.NAME_LENGTH + 1)]}, "partner_agencies.0"),
        (
            {"outcomes": [{"id": f"o{i}", "label": "O"} for i in range(limits.OUTCOMES + 1)]},
            "outcomes",
        ),
        ({"escalations": valid_type()["escalations"] * 11}, "escalations"),
    ],
)
def test_texts_and_lists_are_bounded_in_the_schema(changes: dict[str, Any], location: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ProvisionType.model_validate(with_changes(**changes))
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [location]


def test_the_loader_says_what_the_limit_is(tmp_path: Path) -> None:
    root = write_valid_catalog(tmp_path / "defs")
    data = with_changes(services=[f"service {i}" for i in range(60)])
    data["tasks"][0]["fields"][0]["help"] = "x" * 3_000
    (root / TYPE_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    _, problems = validate_catalog(root)
    assert problems == [
        Problem(TYPE_FILE, "services", "has 60 entries; the limit is 50, so remove some"),
        Problem(
            TYPE_FILE,
            "tasks[0].fields[0].help",
            "is too long (3,000 characters); the limit is 2,000, so shorten it",
        ),
    ]


# --- the snapshot --------------------------------------------------------------------------


def test_a_snapshot_too_large_for_a_history_is_a_problem_on_its_file(tmp_path: Path) -> None:
    root = write_valid_catalog(tmp_path / "defs")
    tasks = [{"id": f"t{i}", "name": "T", "description": "x" * 9_000} for i in range(40)]
    (root / TYPE_FILE).write_text(yaml.safe_dump(with_changes(tasks=tasks), sort_keys=False))
    _, problems = validate_catalog(root)
    (problem,) = problems
    assert (problem.file, problem.location) == (TYPE_FILE, "")
    # About 365 KiB: the exact figure moves a little whenever the format gains a field.
    size, _, rest = problem.message.removeprefix("is ").partition(" KiB ")
    assert 355 <= int(size) <= 375, problem.message
    assert rest.startswith("as the snapshot each of its cases carries")
    assert "the limit is 256 KiB" in problem.message


def test_the_shipped_snapshots_have_room_to_spare() -> None:
    catalog = load_catalog(SHIPPED / "catalog")
    for provision_type in catalog.definitions():
        assert provision_type.resolved_calendar is not None
        assert len(provision_type.model_dump_json().encode()) < limits.SNAPSHOT_BYTES / 10


def test_the_directory_file_is_read_within_the_same_limits(tmp_path: Path) -> None:
    """`definitions validate` reads the directory too, so it must not hang on it either."""
    path = tmp_path / "directory.yaml"
    path.write_text("people: &p [*p]\n")
    with pytest.raises(DirectoryInvalid) as caught:
        load_directory(path)
    assert caught.value.problems == [
        f"{path}: line 1: the alias *p names a value that contains it, so that value would "
        "never end; remove the alias"
    ]


def test_a_list_far_over_its_limit_is_checked_no_further_than_the_limit(tmp_path: Path) -> None:
    """The rules read a raw list only as far as the schema allows it: one problem for the
    length, and no more work or output than a valid type would cause."""
    root = write_valid_catalog(tmp_path / "defs")
    tasks = [{"id": f"t{i}", "name": "T", "depends_on": [f"x{i}"]} for i in range(3_000)]
    (root / TYPE_FILE).write_text(yaml.safe_dump(with_changes(tasks=tasks), sort_keys=False))
    _, problems = validate_catalog(root)
    assert problems[0] == Problem(
        TYPE_FILE, "tasks", "has 3,000 entries; the limit is 100, so remove some"
    )
    unknown = [p for p in problems if p.location.endswith(".depends_on[0]")]
    assert len(unknown) == limits.TASKS
    assert len(problems) < 2 * limits.TASKS


def test_a_file_with_thousands_of_mistakes_lists_the_first_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    root = write_valid_catalog(tmp_path / "defs")
    data = with_changes(**{f"colour-{i}": "red" for i in range(1_000)})
    (root / TYPE_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    _, problems = validate_catalog(root)
    assert len(problems) == limits.PROBLEMS_PER_FILE + 1
    assert problems[0].message.startswith('unexpected key "colour-0"')
    assert problems[-1] == Problem(
        TYPE_FILE, "", "and 800 more problems in this file; fix these first"
    )
