"""The bank holidays the installed `holidays` package gives each nation."""

from __future__ import annotations

from datetime import date

from definitions.bank_holidays import bank_holidays


def test_scotland_has_the_bank_holiday_of_15_june_2026():
    """Added in holidays 0.91; an older release counts it as a working day."""
    assert date(2026, 6, 15) in bank_holidays("scotland", 2026)
    assert date(2026, 6, 15) not in bank_holidays("england-and-wales", 2026)
