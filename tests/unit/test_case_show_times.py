"""`case show` prints every instant in UTC, as its log does: a revised target keeps the
offset it was given in, and printed as written beside points worked out in UTC it read an
hour out in summer."""

from __future__ import annotations

from starter.cli_case import _short


def test_an_instant_given_in_summer_time_is_shown_in_utc():
    assert _short("2027-06-01T10:00:00+01:00") == "2027-06-01 09:00"
    assert _short("2027-05-17T09:00:00+00:00") == "2027-05-17 09:00"


def test_nothing_is_shown_as_nothing():
    assert _short(None) == "" and _short("") == ""
