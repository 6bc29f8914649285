from datetime import date, datetime, time
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

import definitions
from casemodel.calendars import Calendar, TwentyFourSeven, WorkingCalendar, calendar_for
from definitions.calendars import (
    CalendarCatalogFile,
    CalendarDefinition,
    CalendarFileError,
    ContinuousCalendarDefinition,
    WorkingTimeCalendarDefinition,
    load_calendar_definitions,
)

SHIPPED = Path(definitions.__file__).parent / "catalog" / "calendars.yaml"
LONDON = ZoneInfo("Europe/London")

OFFICE = """\
  - id: office
    name: Office
    kind: working_time
    timezone: Europe/London
    working_days: [monday, tuesday, wednesday, thursday, friday]
    opens: "09:00"
    closes: "17:00"
    bank_holidays: england-and-wales
"""


def load_calendars(path: Path, *, display_name: str | None = None) -> dict[str, Calendar]:
    """The calendars of a file, built as the case model counts in them."""
    loaded = load_calendar_definitions(path, display_name=display_name)
    return {definition.id: calendar_for(definition) for definition in loaded.calendars}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendars.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(CalendarFileError) as caught:
        load_calendars(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# -- the shipped catalog -----------------------------------------------------------------------


def test_shipped_catalog_loads() -> None:
    calendars = load_calendars(SHIPPED)
    assert list(calendars) == [
        "24x7",
        "england-and-wales",
        "scotland",
        "northern-ireland",
        "england-and-wales-christmas-closure",
    ]
    assert calendars["24x7"] == TwentyFourSeven(name="24x7", title="Around the clock")
    for nation in ("england-and-wales", "scotland", "northern-ireland"):
        calendar = calendars[nation]
        assert isinstance(calendar, WorkingCalendar)
        assert calendar.nation == nation
        assert calendar.timezone == "Europe/London"
        assert calendar.working_days == frozenset(range(5))
        assert (calendar.opens, calendar.closes) == (time(9), time(17))
        assert calendar.extra_closures == frozenset()
    closure = calendars["england-and-wales-christmas-closure"]
    assert isinstance(closure, WorkingCalendar)
    assert closure.nation == "england-and-wales"
    assert closure.extra_closures == {date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)}


def test_shipped_catalog_computes_due_points() -> None:
    calendars = load_calendars(SHIPPED)
    start = datetime(2026, 12, 23, 10, tzinfo=LONDON)
    assert calendars["england-and-wales"].add(start, "5 working days") == datetime(
        2027, 1, 4, 10, tzinfo=LONDON
    )
    assert calendars["england-and-wales-christmas-closure"].add(
        start, "5 working days"
    ) == datetime(2027, 1, 7, 10, tzinfo=LONDON)


def test_catalog_round_trips_through_json() -> None:
    catalog = load_calendar_definitions(SHIPPED)
    dumped = catalog.model_dump(mode="json")
    assert dumped["calendars"][1]["opens"] == "09:00"
    assert dumped["calendars"][4]["extra_closures"] == ["2026-12-29", "2026-12-30", "2026-12-31"]
    assert CalendarCatalogFile.model_validate(dumped) == catalog


def test_every_field_is_documented() -> None:
    for model in (ContinuousCalendarDefinition, WorkingTimeCalendarDefinition):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
    assert CalendarCatalogFile.model_fields["calendars"].description


def test_kind_selects_the_model() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(CalendarDefinition)
    continuous = adapter.validate_python({"id": "always", "name": "Always", "kind": "continuous"})
    assert isinstance(continuous, ContinuousCalendarDefinition)
    assert calendar_for(continuous) == TwentyFourSeven(name="always", title="Always")


def test_working_time_definition_builds_a_calendar() -> None:
    definition = WorkingTimeCalendarDefinition.model_validate(
        {
            "id": "weekend-team",
            "name": "Weekend team",
            "kind": "working_time",
            "timezone": "Europe/London",
            "working_days": ["Saturday", "sunday"],
            "opens": "8:30",
            "closes": "12:00",
            "bank_holidays": None,
            "extra_closures": ["2026-12-26"],
        }
    )
    assert calendar_for(definition) == WorkingCalendar(
        name="weekend-team",
        title="Weekend team",
        timezone="Europe/London",
        working_days=frozenset({5, 6}),
        opens=time(8, 30),
        closes=time(12),
        nation=None,
        extra_closures=frozenset({date(2026, 12, 26)}),
    )


def test_extra_closures_are_optional(tmp_path: Path) -> None:
    calendars = load_calendars(write(tmp_path, "calendars:\n" + OFFICE))
    office = calendars["office"]
    assert isinstance(office, WorkingCalendar)
    assert office.extra_closures == frozenset()


# -- problems ----------------------------------------------------------------------------------


def test_the_documented_time_zone_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "calendars:\n"
        "  - {id: 24x7, name: Always, kind: continuous}\n"
        + OFFICE.replace("Europe/London", "Europe/Londn"),
    )
    assert problems(path) == [
        'calendars.yaml: calendars[1].timezone: "Europe/Londn" is not a known time zone: '
        'use an IANA name, e.g. "Europe/London"'
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('closes: "17:00"', "closes: 17:00"),
            "calendars[0].closes: YAML read this as the "
            'number 1020: put the time in quotes, e.g. "17:00"',
        ),
        (
            ('closes: "17:00"', 'closes: "08:00"'),
            'calendars[0].closes: closing time "08:00" must be after the opening time "09:00"',
        ),
        (
            ('closes: "17:00"', 'closes: "5pm"'),
            'calendars[0].closes: "5pm" is not a time of day: write HH:MM, e.g. "09:00"',
        ),
        (('opens: "09:00"', 'opens: "24:00"'), 'calendars[0].opens: "24:00" is not a time'),
        (
            ("[monday, tuesday, wednesday, thursday, friday]", "[]"),
            "calendars[0].working_days: list at least one working day",
        ),
        (
            ("[monday, tuesday, wednesday, thursday, friday]", "[monday, funday]"),
            'calendars[0].working_days[1]: "funday" is not a day of the week',
        ),
        (
            ("[monday, tuesday, wednesday, thursday, friday]", "[monday, Monday]"),
            "calendars[0].working_days: monday listed more than once",
        ),
        (
            ("bank_holidays: england-and-wales", "bank_holidays: wales"),
            'calendars[0].bank_holidays: "wales" is not a UK nation with bank holidays: use '
            '"england-and-wales", "scotland", "northern-ireland" or null',
        ),
        (("bank_holidays: england-and-wales\n", ""), "calendars[0].bank_holidays: is required"),
        (
            ("id: office", "id: Head Office"),
            'calendars[0].id: "Head Office" is not a valid calendar id',
        ),
        (("name: Office", 'name: ""'), "calendars[0].name: must not be empty"),
        (
            ("kind: working_time", "kind: office"),
            'calendars[0].kind: "office" is not a calendar '
            'kind: use "continuous" or "working_time"',
        ),
        (
            ("    kind: working_time\n", ""),
            'calendars[0].kind: is required: use "continuous" or "working_time"',
        ),
        (("opens:", "colour: red\n    opens:"), "calendars[0].colour: is not a known field"),
        (
            (
                "bank_holidays: england-and-wales",
                "bank_holidays: null\n    extra_closures: [2026-13-01]",
            ),
            'calendars[0].extra_closures[0]: "2026-13-01" is not a date: write YYYY-MM-DD',
        ),
    ],
)
def test_each_problem_names_the_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in OFFICE
    (problem,) = problems(write(tmp_path, "calendars:\n" + OFFICE.replace(old, new, 1)))
    assert problem.startswith("calendars.yaml: " + expected)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "calendars:\n"
        "  - {id: 24x7, name: Always, kind: continuous}\n"
        + OFFICE.replace("Europe/London", "Mars/Olympus").replace('"17:00"', '"08:00"')
        + "  - {id: 24x7, name: Again, kind: continuous}\n"
        "  - just a string\n"
        "  - {id: x, name: X, kind: continuous, timezone: Europe/London}\n"
    )
    assert problems(write(tmp_path, text)) == [
        'calendars.yaml: calendars[1].timezone: "Mars/Olympus" is not a known time zone: '
        'use an IANA name, e.g. "Europe/London"',
        'calendars.yaml: calendars[1].closes: closing time "08:00" must be after the opening '
        'time "09:00"',
        'calendars.yaml: calendars[2].id: "24x7" is already the id of calendars[0]',
        "calendars.yaml: calendars[3]: must be a mapping with id, name and kind",
        "calendars.yaml: calendars[4].timezone: is not a known field (known fields: id, name, "
        "kind)",
    ]


def test_duplicate_ids_are_refused_by_the_model_too() -> None:
    entry = {"id": "a", "name": "A", "kind": "continuous"}
    with pytest.raises(ValidationError, match='calendar id "a" is repeated'):
        CalendarCatalogFile.model_validate({"calendars": [entry, entry]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calendars: [\n", "calendars.yaml: is not valid YAML at line 2"),
        ("", "calendars.yaml: must be a mapping with a 'calendars' list"),
        ("- 24x7\n", "calendars.yaml: must be a mapping with a 'calendars' list"),
        ("calendar: []\n", "calendars.yaml: calendars: is required"),
        ("calendars: 3\n", "calendars.yaml: calendars: Input should be a valid list"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(write(tmp_path, text))[0].startswith(expected)


def test_missing_file_and_display_name(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError) as caught:
        load_calendars(tmp_path / "nowhere.yaml", display_name="definitions/nowhere.yaml")
    assert caught.value.problems == [
        "definitions/nowhere.yaml: cannot be read: No such file or directory"
    ]
    assert isinstance(caught.value, ValueError)
