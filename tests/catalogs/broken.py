"""A corpus of broken catalogs: small definitions directories `definitions validate` refuses.

Each `BrokenCatalog` is the small valid catalog of `write_valid_catalog` with a few files
replaced, and the start of the problem line validation must print for it (file, then
field or line). Together they cover every place a duration appears (recurrences too),
recurrences that never end or end on an outcome their task lacks, oversize texts,
lists and snapshots, hostile YAML (deep nesting, alias bombs), hostile templates, unknown
keys, cycles, bad references, decisions that do not fit their fields and bad calendars.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import definitions

SHIPPED = Path(definitions.__file__).parent
DIRECTORY_FILE = SHIPPED / "directory.yaml"
HUGE = "99999999999999999999999 seconds"
TYPE_FILE = "types/simple.yaml"


def valid_type() -> dict[str, Any]:
    """A small type that uses every place a duration, a reference or a list appears."""
    return {
        "id": "simple",
        "name": "Simple",
        "category": "assessment",
        "audience": "internal",
        "calendar": "england-and-wales",
        "sla": {"target": "20 working days", "warning": "2 working days"},
        "escalations": [
            {
                "id": "case-breach",
                "trigger": "breach",
                "template": "case-sla-breach",
                "delay": "1 working day",
                "repeat": {"every": "2 working days", "times": 2},
                "follow_on": [
                    {
                        "id": "panel",
                        "after": "1 working day",
                        "template": "safeguarding-escalation",
                        "notify": {"owner": False, "groups": ["safeguarding-panel"]},
                    }
                ],
            },
            {
                "id": "quiet",
                "trigger": "stagnation",
                "stagnation_after": "5 working days",
                "template": "stagnation-nudge",
            },
        ],
        "tasks": [
            {
                "id": "first",
                "name": "First",
                "owner": "housing-officer",
                "sla": {"target": "5 working days", "warning": "1 working day"},
                "outcomes": [
                    {
                        "id": "done",
                        "label": "Done",
                        "adds_tasks": ["second"],
                        "case_outcome": "closed",
                    }
                ],
                "fields": [
                    {"id": "choice", "label": "Choice", "response_type": "lookup", "options": ["a"]}
                ],
            },
            {
                "id": "second",
                "name": "Second",
                "automatic": False,
                "depends_on": [{"task": "first", "lag": "1 working day"}],
                "fields": [
                    {"id": "amount", "label": "Amount", "response_type": "decimal", "min": 0}
                ],
                "paths": [
                    {
                        "id": "large",
                        "when": {"field": "amount", "above": 500},
                        "adds_tasks": ["first"],
                        "sends": {
                            "template": "partner-agency-update",
                            "notify": {"owner": False, "groups": ["money-advice-partners"]},
                        },
                    },
                    {
                        "id": "none",
                        "when": {"any": [{"field": "amount", "equals": 0}]},
                        "completes_case": "closed",
                    },
                ],
            },
        ],
        "outcomes": [{"id": "closed", "label": "Closed"}],
    }


def write_valid_catalog(root: Path) -> Path:
    """The shipped calendars and templates, and `valid_type` in `TYPE_FILE`."""
    (root / "types").mkdir(parents=True)
    shutil.copy(SHIPPED / "catalog" / "calendars.yaml", root / "calendars.yaml")
    shutil.copytree(SHIPPED / "catalog" / "templates", root / "templates")
    (root / TYPE_FILE).write_text(_dump(valid_type()), encoding="utf-8")
    return root


@dataclass(frozen=True)
class BrokenCatalog:
    name: str
    expected: str
    """The start of a line validation prints, e.g. ``types/simple.yaml: sla.target: ``."""
    files: dict[str, str] = field(default_factory=dict)
    """Files replaced or added, by path inside the definitions directory."""

    def write(self, root: Path) -> Path:
        write_valid_catalog(root)
        for name, text in self.files.items():
            (root / name).write_text(text, encoding="utf-8")
        return root


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _type_with(*changes: tuple[str, Any]) -> dict[str, str]:
    """`valid_type` with each ``(path, value)`` set, e.g. ``("tasks[1].name", "x")``."""
    data = valid_type()
    for path, value in changes:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = copy.deepcopy(value)
    return {TYPE_FILE: _dump(data)}


def _calendars_with(change: Callable[[str], str]) -> dict[str, str]:
    text = (SHIPPED / "catalog" / "calendars.yaml").read_text(encoding="utf-8")
    return {"calendars.yaml": change(text)}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _alias_bomb(first_key: str) -> str:
    lines = [f'{first_key}: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def _sparse_calendar(text: str) -> str:
    return text + (
        "  - id: one-hour-a-week\n"
        "    name: One hour a week\n"
        "    kind: working_time\n"
        "    timezone: Europe/London\n"
        "    working_days: [monday]\n"
        '    opens: "09:00"\n'
        '    closes: "10:00"\n'
        "    bank_holidays: null\n"
    )


def _with_closures_for_two_years(text: str) -> str:
    """More extra closures on the last calendar (which ends the file with its list)."""
    days = [
        f"{y}-{m:02d}-{d:02d}" for y in (2030, 2031) for m in range(1, 13) for d in range(1, 29)
    ]
    return text.rstrip() + "".join(f"\n      - {day}" for day in days) + "\n"


def _many_tasks(count: int, description: str = "") -> list[dict[str, Any]]:
    return [
        {"id": f"task-{i}", "name": f"Task {i}", "description": description} for i in range(count)
    ]


def _follow_on_chain(depth: int) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    for level in reversed(range(depth)):
        rule = {"id": f"level-{level}", "after": "1 day", "template": "case-sla-breach"}
        if chain:
            rule["follow_on"] = chain
        chain = [rule]
    return chain


def _template(name: str, text: str) -> dict[str, str]:
    other = "text" if name.endswith(".subject.j2") else "subject"
    stem = name.rsplit(".", 2)[0]
    return {f"templates/{name}": text, f"templates/{stem}.{other}.j2": "Case {{ case.ref }}"}


T = TYPE_FILE
CORPUS: list[BrokenCatalog] = [
    # --- a huge duration in every place a duration appears --------------------------------
    BrokenCatalog("sla-target", f"{T}: sla.target: ", _type_with(("sla.target", HUGE))),
    BrokenCatalog("sla-warning", f"{T}: sla.warning: ", _type_with(("sla.warning", HUGE))),
    BrokenCatalog(
        "task-sla-target",
        f'{T}: tasks[0].sla.target: "9999999 working days" is longer than an SLA can mean',
        _type_with(("tasks[0].sla.target", "9999999 working days")),
    ),
    BrokenCatalog(
        "lag",
        f"{T}: tasks[1].depends_on[0].lag: ",
        _type_with(("tasks[1].depends_on[0].lag", HUGE)),
    ),
    BrokenCatalog(
        "delay", f"{T}: escalations[0].delay: ", _type_with(("escalations[0].delay", HUGE))
    ),
    BrokenCatalog(
        "stagnation-after",
        f"{T}: escalations[1].stagnation_after: ",
        _type_with(("escalations[1].stagnation_after", HUGE)),
    ),
    BrokenCatalog(
        "repeat-every",
        f"{T}: escalations[0].repeat.every: ",
        _type_with(("escalations[0].repeat.every", HUGE)),
    ),
    BrokenCatalog(
        "follow-on-after",
        f"{T}: escalations[0].follow_on[0].after: ",
        _type_with(("escalations[0].follow_on[0].after", HUGE)),
    ),
    BrokenCatalog(
        "months-target",
        f'{T}: tasks[0].sla.target: "121 months" is longer than an SLA can mean: at most 120 '
        "months",
        _type_with(("tasks[0].sla.target", "121 months")),
    ),
    BrokenCatalog(
        "recurrence-every",
        f"{T}: tasks[0].recurrence.every: ",
        _type_with(("tasks[0].recurrence", {"every": HUGE, "times": 3})),
    ),
    BrokenCatalog(
        "recurrence-for",
        f'{T}: tasks[0].recurrence.for: "3 fortnights" is not a duration',
        _type_with(("tasks[0].recurrence", {"every": "1 week", "for": "3 fortnights"})),
    ),
    BrokenCatalog(
        "duration-too-long-for-its-calendar",
        f'{T}: sla.target: "2600 working days" would run for about 50 years in the calendar '
        '"one-hour-a-week"',
        {
            **_type_with(("calendar", "one-hour-a-week"), ("sla.target", "2600 working days")),
            **_calendars_with(_sparse_calendar),
        },
    ),
    # --- sizes -------------------------------------------------------------------------------
    BrokenCatalog(
        "three-megabyte-description",
        f"{T}: is larger than a definitions file may be",
        _type_with(("description", "x" * 3_000_000)),
    ),
    BrokenCatalog(
        "long-description",
        f"{T}: description: is too long (20,000 characters); the limit is 10,000",
        _type_with(("description", "x" * 20_000)),
    ),
    BrokenCatalog(
        "long-name", f"{T}: tasks[0].name: is too long", _type_with(("tasks[0].name", "x" * 300))
    ),
    BrokenCatalog(
        "too-many-tasks",
        f"{T}: tasks: has 101 entries; the limit is 100",
        _type_with(("tasks", _many_tasks(101))),
    ),
    BrokenCatalog(
        "too-many-options",
        f"{T}: tasks[0].fields[0].options: has 201 entries; the limit is 200",
        _type_with(("tasks[0].fields[0].options", [f"answer {i}" for i in range(201)])),
    ),
    BrokenCatalog(
        "follow-on-too-deep",
        f"{T}: escalations[0]{'.follow_on[0]' * 5}.follow_on: follow-on rules nest more than 5 "
        "levels deep",
        _type_with(("escalations[0].follow_on", _follow_on_chain(7))),
    ),
    BrokenCatalog(
        "snapshot-too-large",
        f"{T}: is ",  # ... KiB as the snapshot each of its cases carries
        _type_with(("tasks", _many_tasks(95, "x" * 9_000))),
    ),
    BrokenCatalog(
        "too-many-closures",
        "calendars.yaml: calendars[4].extra_closures: has ",
        _calendars_with(_with_closures_for_two_years),
    ),
    # --- hostile YAML --------------------------------------------------------------------
    BrokenCatalog(
        "deep-nesting",
        f"{T}: line 2: mappings and lists are nested more than 40 levels deep",
        {T: "id: simple\nname: " + _nested(100_000) + "\n"},
    ),
    BrokenCatalog(
        "alias-bomb",
        f"{T}: line 6: this value holds more than 100,000 values",
        {T: _alias_bomb("id")},
    ),
    BrokenCatalog(
        "self-containing-alias",
        f"{T}: line 2: the alias *a names a value that contains it",
        {T: "id: simple\ntasks: &a [*a]\n"},
    ),
    BrokenCatalog(
        "calendars-alias-bomb",
        "calendars.yaml: line 6: this value holds more than 100,000 values",
        {"calendars.yaml": _alias_bomb("calendars")},
    ),
    BrokenCatalog(
        "calendars-deep-nesting",
        "calendars.yaml: line 1: mappings and lists are nested more than 40 levels deep",
        {"calendars.yaml": "calendars: " + _nested(1_000) + "\n"},
    ),
    # --- hostile templates -----------------------------------------------------------------
    BrokenCatalog(
        "huge-subject",
        "templates/hostile.subject.j2: line 1: 'x' * 10000000000 would make about "
        "10,000,000,000 characters",
        _template("hostile.subject.j2", "{{ 'x' * 10**10 }}"),
    ),
    BrokenCatalog(
        "nested-huge-loops",
        "templates/loops.text.j2: line 2: the template ran more than 200,000 steps",
        _template(
            "loops.text.j2",
            "Hello\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
            "{% endfor %}",
        ),
    ),
    BrokenCatalog(
        "recursive-macro",
        "templates/recursion.text.j2: line 1: calls nest more than 120 deep",
        _template("recursion.text.j2", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"),
    ),
    BrokenCatalog(
        "huge-filter-width",
        "templates/wide.text.j2: line 1: the center filter was given 10,000,000,000",
        _template("wide.text.j2", "{{ case.ref|center(10000000000) }}"),
    ),
    # --- unknown keys --------------------------------------------------------------------
    BrokenCatalog(
        "unknown-key",
        f'{T}: tasks[0].colour: unexpected key "colour"',
        _type_with(("tasks[0].colour", "red")),
    ),
    BrokenCatalog(
        "unknown-calendar-key",
        "calendars.yaml: calendars[0].colour: is not a known field",
        _calendars_with(
            lambda text: text.replace(
                "    kind: continuous", "    kind: continuous\n    colour: red", 1
            )
        ),
    ),
    # --- cycles and bad references ----------------------------------------------------------
    BrokenCatalog(
        "cycle",
        f"{T}: tasks[0].depends_on[0]: dependency cycle first -> second -> first",
        _type_with(("tasks[0].depends_on", ["second"])),
    ),
    BrokenCatalog(
        "unknown-dependency",
        f'{T}: tasks[1].depends_on[0].task: "frist" is not a task of this type',
        _type_with(("tasks[1].depends_on[0].task", "frist")),
    ),
    BrokenCatalog(
        "unknown-workflow-path",
        f'{T}: tasks[0].outcomes[0].adds_tasks[0]: "third" is not a task of this type',
        _type_with(("tasks[0].outcomes[0].adds_tasks", ["third"])),
    ),
    BrokenCatalog(
        "unknown-case-outcome",
        f'{T}: tasks[0].outcomes[0].case_outcome: "opened" is not one of the type\'s case outcomes',
        _type_with(("tasks[0].outcomes[0].case_outcome", "opened")),
    ),
    BrokenCatalog(
        "recurrence-without-end",
        f"{T}: tasks[0].recurrence: a recurrence needs an end, or the task would repeat for ever",
        _type_with(("tasks[0].recurrence", {"every": "2 weeks", "from": "completion"})),
    ),
    BrokenCatalog(
        "recurrence-until-unknown-outcome",
        f'{T}: tasks[0].recurrence.until_outcome: "don" is not an outcome of this task (did '
        'you mean "done"?)',
        _type_with(("tasks[0].recurrence", {"every": "1 month", "until_outcome": "don"})),
    ),
    BrokenCatalog(
        "no-automatic-task",
        f"{T}: tasks: no task is automatic",
        _type_with(("tasks[0].automatic", False)),
    ),
    BrokenCatalog(
        "duplicate-task-ids",
        f'{T}: tasks[1].id: "first" is already the id of tasks[0]',
        _type_with(("tasks[1].id", "first")),
    ),
    BrokenCatalog(
        "unknown-template",
        f"{T}: escalations[1].template: there is no template 'stagnation-nudj'",
        _type_with(("escalations[1].template", "stagnation-nudj")),
    ),
    BrokenCatalog(
        "unknown-group",
        f'{T}: escalations[0].follow_on[0].notify.groups[0]: "safeguarding-panle" is not a '
        "stakeholder group",
        _type_with(("escalations[0].follow_on[0].notify.groups", ["safeguarding-panle"])),
    ),
    BrokenCatalog(
        "unknown-owner",
        f"{T}: tasks[0].owner: 'housing-oficer' is not a person, team, role or agency",
        _type_with(("tasks[0].owner", "housing-oficer")),
    ),
    BrokenCatalog(
        "unknown-follow-on-type",
        f'{T}: outcomes[0].follow_on_type: "nowhere" is not a provision type',
        _type_with(("outcomes[0].follow_on_type", "nowhere")),
    ),
    # --- decisions: paths and their conditions -------------------------------------------
    BrokenCatalog(
        "condition-on-an-unknown-field",
        f'{T}: tasks[1].paths[0].when.field: "amuont" is not a field of this task (did you '
        'mean "amount"?)',
        _type_with(("tasks[1].paths[0].when.field", "amuont")),
    ),
    BrokenCatalog(
        "operator-that-does-not-fit",
        f'{T}: tasks[0].paths[0].when.above: `above` does not fit "Choice", a lookup field',
        _type_with(
            (
                "tasks[0].paths",
                [{"id": "p", "when": {"field": "choice", "above": 1}, "adds_tasks": ["second"]}],
            )
        ),
    ),
    BrokenCatalog(
        "condition-value-that-does-not-parse",
        f'{T}: tasks[1].paths[0].when.above: "lots" is not a number',
        _type_with(("tasks[1].paths[0].when.above", "lots")),
    ),
    BrokenCatalog(
        "condition-with-two-operators",
        f"{T}: tasks[1].paths[0].when: a test of a field takes exactly one operator",
        _type_with(("tasks[1].paths[0].when.below", 900)),
    ),
    BrokenCatalog(
        "condition-nested-too-deep",
        f"{T}: tasks[1].paths[1].when.any[0].any[0].any[0].any[0]: `all` and `any` nest more "
        "than 4 levels deep",
        _type_with(
            (
                "tasks[1].paths[1].when.any[0]",
                {"any": [{"any": [{"any": [{"any": [{"field": "amount", "equals": 0}]}]}]}]},
            )
        ),
    ),
    BrokenCatalog(
        "path-adding-an-unknown-task",
        f'{T}: tasks[1].paths[0].adds_tasks[0]: "thrid" is not a task of this type',
        _type_with(("tasks[1].paths[0].adds_tasks", ["thrid"])),
    ),
    BrokenCatalog(
        "path-completing-with-an-unknown-outcome",
        f'{T}: tasks[1].paths[1].completes_case: "shut" is not one of the type\'s case outcomes',
        _type_with(("tasks[1].paths[1].completes_case", "shut")),
    ),
    BrokenCatalog(
        "path-sending-an-unknown-template",
        f"{T}: tasks[1].paths[0].sends.template: there is no template 'partner-agency-updat'",
        _type_with(("tasks[1].paths[0].sends.template", "partner-agency-updat")),
    ),
    BrokenCatalog(
        "path-sending-to-an-unknown-group",
        f'{T}: tasks[1].paths[0].sends.notify.groups[0]: "money-advise-partners" is not a '
        "stakeholder group",
        _type_with(("tasks[1].paths[0].sends.notify.groups", ["money-advise-partners"])),
    ),
    BrokenCatalog(
        "min-on-a-text-field",
        f"{T}: tasks[0].fields[0]: `min` only applies to integer and decimal fields, not lookup",
        _type_with(("tasks[0].fields[0].min", 0)),
    ),
    # --- bad calendars --------------------------------------------------------------------
    BrokenCatalog(
        "unknown-calendar",
        f'{T}: calendar: "englnd" is not a calendar in calendars.yaml',
        _type_with(("calendar", "englnd")),
    ),
    BrokenCatalog(
        "bad-time-zone",
        'calendars.yaml: calendars[1].timezone: "Europe/Londn" is not a known time zone',
        _calendars_with(lambda text: text.replace("Europe/London", "Europe/Londn", 1)),
    ),
    BrokenCatalog(
        "closes-before-it-opens",
        'calendars.yaml: calendars[1].closes: closing time "08:00" must be after',
        _calendars_with(lambda text: text.replace('closes: "17:00"', 'closes: "08:00"', 1)),
    ),
    BrokenCatalog(
        "unknown-nation",
        'calendars.yaml: calendars[1].bank_holidays: "wales" is not a UK nation',
        _calendars_with(
            lambda text: text.replace("bank_holidays: england-and-wales", "bank_holidays: wales", 1)
        ),
    ),
]
