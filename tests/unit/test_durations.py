from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from casemodel.calendars import calendar_for
from definitions.calendars import load_calendar_definitions
from definitions.durations import (
    ACCEPTED_FORMS,
    MAXIMUM,
    Duration,
    DurationError,
    DurationField,
    DurationUnit,
    parse_duration,
)

U = DurationUnit
SHIPPED_CALENDARS = {
    definition.id: calendar_for(definition)
    for definition in load_calendar_definitions(
        Path(__file__).parents[2] / "definitions" / "catalog" / "calendars.yaml"
    ).calendars
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 working days", Duration(10, U.WORKING_DAYS)),
        ("1 working day", Duration(1, U.WORKING_DAYS)),
        ("4 working hours", Duration(4, U.WORKING_HOURS)),
        ("1 working hour", Duration(1, U.WORKING_HOURS)),
        ("2 weeks", Duration(2, U.WEEKS)),
        ("1 week", Duration(1, U.WEEKS)),
        ("3 days", Duration(3, U.DAYS)),
        ("1 day", Duration(1, U.DAYS)),
        ("48 hours", Duration(48, U.HOURS)),
        ("1 hour", Duration(1, U.HOURS)),
        ("30 minutes", Duration(30, U.MINUTES)),
        ("1 minute", Duration(1, U.MINUTES)),
        ("45 seconds", Duration(45, U.SECONDS)),
        ("1 second", Duration(1, U.SECONDS)),
        ("  10 Working Days ", Duration(10, U.WORKING_DAYS)),
        ("10   WORKING\tdays", Duration(10, U.WORKING_DAYS)),
        ("48hours", Duration(48, U.HOURS)),
        ("1 days", Duration(1, U.DAYS)),
        ("+3 days", Duration(3, U.DAYS)),
        ("007 days", Duration(7, U.DAYS)),
    ],
)
def test_parses_what_people_write(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected
    assert Duration.parse(text) == expected


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (Duration(10, U.WORKING_DAYS), "10 working days"),
        (Duration(1, U.WORKING_DAYS), "1 working day"),
        (Duration(1, U.WORKING_HOURS), "1 working hour"),
        (Duration(2, U.WEEKS), "2 weeks"),
        (Duration(1, U.DAYS), "1 day"),
        (Duration(30, U.MINUTES), "30 minutes"),
        (Duration(1, U.SECONDS), "1 second"),
    ],
)
def test_str_is_canonical(duration: Duration, text: str) -> None:
    assert str(duration) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ten days", "write a whole number and a unit"),
        ("", "write a whole number and a unit"),
        ("   ", "write a whole number and a unit"),
        ("10", "write a whole number and a unit"),
        ("days", "write a whole number and a unit"),
        ("1.5 hours", "write a whole number and a unit"),
        ("1,5 hours", "write a whole number and a unit"),
        ("3 fortnights", '"fortnights" is not a unit'),
        ("10 working", '"working" is not a unit'),
        ("10 working weeks", '"working weeks" is not a unit'),
        ("2 h", '"h" is not a unit'),
        ("0 days", "at least 1"),
        ("-3 days", "at least 1"),
        ("0 working hours", "at least 1"),
    ],
)
def test_refuses_with_a_reason_and_the_accepted_forms(text: str, fragment: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert fragment in message
    assert f'"{text}" is not a duration' in message
    if "at least 1" not in message:
        assert all(f'"{form}"' in message for form in ACCEPTED_FORMS)


def test_the_message_for_words_is_the_documented_one() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("ten days")
    assert str(caught.value) == (
        '"ten days" is not a duration: write a whole number and a unit, e.g. '
        '"10 working days", "4 working hours", "3 months", "3 days", "48 hours", "30 minutes", '
        '"45 seconds"'
    )


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)
    with pytest.raises(ValueError):
        parse_duration(10)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "3"])
def test_constructor_refuses_bad_amounts(amount: object) -> None:
    with pytest.raises(DurationError):
        Duration(amount, U.DAYS)  # type: ignore[arg-type]


def test_constructor_coerces_and_checks_the_unit() -> None:
    assert Duration(3, "days").unit is U.DAYS  # type: ignore[arg-type]
    with pytest.raises(DurationError, match="is not a unit"):
        Duration(3, "fortnights")  # type: ignore[arg-type]


def test_is_frozen_and_hashable() -> None:
    duration = Duration(3, U.DAYS)
    with pytest.raises(AttributeError):
        duration.amount = 4  # type: ignore[misc]
    assert {duration, Duration(3, U.DAYS)} == {duration}


def test_working_time_and_timedelta() -> None:
    assert Duration(1, U.WORKING_DAYS).is_working_time
    assert Duration(1, U.WORKING_HOURS).is_working_time
    assert not Duration(1, U.DAYS).is_working_time
    assert Duration(2, U.WEEKS).to_timedelta() == timedelta(days=14)
    assert Duration(3, U.DAYS).to_timedelta() == timedelta(days=3)
    assert Duration(48, U.HOURS).to_timedelta() == timedelta(hours=48)
    assert Duration(30, U.MINUTES).to_timedelta() == timedelta(minutes=30)
    assert Duration(45, U.SECONDS).to_timedelta() == timedelta(seconds=45)
    with pytest.raises(ValueError, match="working calendar"):
        Duration(2, U.WORKING_DAYS).to_timedelta()


class Target(BaseModel):
    target: Duration
    warning: DurationField | None = None


def test_pydantic_field_accepts_text_and_serialises_to_text() -> None:
    model = Target.model_validate({"target": "10 Working Days", "warning": "2 working days"})
    assert model.target == Duration(10, U.WORKING_DAYS)
    assert model.model_dump() == {"target": "10 working days", "warning": "2 working days"}
    assert model.model_dump(mode="json") == {
        "target": "10 working days",
        "warning": "2 working days",
    }
    assert Target.model_validate_json(model.model_dump_json()) == model
    assert Target(target=Duration(1, U.HOURS)).target == Duration(1, U.HOURS)


@pytest.mark.parametrize("value", ["ten days", "0 days", 10, None, "{x} days"])
def test_pydantic_field_reports_the_reason(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Target.model_validate({"target": value})
    (error,) = caught.value.errors()
    assert error["loc"] == ("target",)
    assert "is not a duration" in error["msg"] or "must be text" in error["msg"]
    assert not error["msg"].startswith("Value error")


def test_pydantic_json_schema_is_a_string_with_examples() -> None:
    schema = Target.model_json_schema()["properties"]["target"]
    assert schema["type"] == "string"
    assert "10 working days" in schema["examples"]


durations = st.sampled_from(list(DurationUnit)).flatmap(
    lambda unit: st.builds(
        Duration, st.integers(min_value=1, max_value=MAXIMUM[unit]), st.just(unit)
    )
)


@settings(max_examples=200, deadline=None)
@given(durations)
def test_text_round_trips(duration: Duration) -> None:
    assert parse_duration(str(duration)) == duration


@settings(max_examples=200, deadline=None)
@given(durations, st.data())
def test_case_and_spacing_do_not_matter(duration: Duration, data: st.DataObject) -> None:
    words = str(duration).split(" ")
    spaces = st.text(alphabet=" \t", min_size=1, max_size=3)
    text = data.draw(spaces) + data.draw(spaces).join(
        "".join(c.upper() if data.draw(st.booleans()) else c for c in word) for word in words
    )
    assert parse_duration(text + data.draw(spaces)) == duration


# --- bounded to what an SLA can mean --------------------------------------------------------


def test_the_maxima_are_about_ten_years_in_every_unit() -> None:
    assert set(MAXIMUM) == set(DurationUnit)
    ten_years = timedelta(days=3_660)
    for unit in (U.WEEKS, U.DAYS, U.HOURS, U.MINUTES, U.SECONDS):
        longest = Duration(MAXIMUM[unit], unit).to_timedelta()
        assert timedelta(days=3_640) <= longest <= ten_years, unit
    assert MAXIMUM[U.WORKING_DAYS] == 52 * 5 * 10
    assert MAXIMUM[U.WORKING_HOURS] == MAXIMUM[U.WORKING_DAYS] * 8


@pytest.mark.parametrize("unit", list(DurationUnit))
def test_the_maximum_is_accepted_and_one_more_is_refused_naming_the_limit(unit: U) -> None:
    most = MAXIMUM[unit]
    assert parse_duration(f"{most} {unit.words(most)}") == Duration(most, unit)
    too_long = f"{most + 1} {unit.words(2)}"
    with pytest.raises(DurationError) as caught:
        parse_duration(too_long)
    assert str(caught.value) == (
        f'"{too_long}" is longer than an SLA can mean: at most {most:,} {unit.words(most)} '
        "(about ten years); use a shorter period"
    )
    with pytest.raises(DurationError, match=f"at most {most:,} "):
        Duration(most + 1, unit)


@pytest.mark.parametrize(
    "text",
    [
        "99999999999999999999999 seconds",
        "9999999 working days",
        "9" * 5_000 + " days",
        "+" + "1" * 40 + " hours",
    ],
)
def test_huge_amounts_are_refused_as_too_long(text: str) -> None:
    with pytest.raises(DurationError, match="is longer than an SLA can mean") as caught:
        parse_duration(text)
    assert len(str(caught.value)) < 200


def test_a_huge_negative_amount_is_not_at_least_one() -> None:
    with pytest.raises(DurationError, match="at least 1"):
        parse_duration("-" + "9" * 5_000 + " days")


def test_leading_zeros_do_not_count_as_digits() -> None:
    assert parse_duration("0000000000000000000000000003 days") == Duration(3, U.DAYS)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(DurationUnit)), st.integers(min_value=1, max_value=10**30))
def test_every_amount_above_the_maximum_is_refused(unit: U, extra: int) -> None:
    amount = MAXIMUM[unit] + extra
    with pytest.raises(DurationError, match=f"at most {MAXIMUM[unit]:,}"):
        parse_duration(f"{amount} {unit.words(amount)}")
    with pytest.raises(DurationError):
        Duration(amount, unit)


@settings(max_examples=100, deadline=None)
@given(
    durations,
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2100, 12, 31)),
    st.sampled_from(["24x7", "england-and-wales", "scotland"]),
)
def test_every_accepted_duration_falls_due_in_every_shipped_calendar(
    duration: Duration, start: datetime, calendar_id: str
) -> None:
    """The promise behind the limits: an SLA that validates always has a due point."""
    due = SHIPPED_CALENDARS[calendar_id].add(start.replace(tzinfo=UTC), duration)
    assert due > start.replace(tzinfo=UTC)
    assert due.year <= start.year + 11
