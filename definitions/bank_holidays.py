"""The bank holidays of the UK nations, as calendars in the definitions name them.

Data, not arithmetic: the loader copies a nation's holidays into each type snapshot, and
the working-time calendars of ``casemodel.calendars`` skip them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

import holidays

__all__ = ["NATIONS", "bank_holidays", "unknown_nation"]

#: UK nations with their own bank holidays, mapped to the ``holidays`` package subdivision.
#: England and Wales share one set ("ENG" and "WLS" are identical in the package).
NATIONS: Mapping[str, str] = MappingProxyType(
    {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
)


@functools.cache
def bank_holidays(nation: str, year: int) -> frozenset[date]:
    """The bank holidays of ``nation`` (a key of NATIONS) in ``year``, substitute days included.

    Cached per (nation, year): the package computes a whole year at a time.
    """
    try:
        subdivision = NATIONS[nation]
    except KeyError:
        raise ValueError(unknown_nation(nation)) from None
    return frozenset(holidays.UK(subdiv=subdivision, years=year))


def unknown_nation(nation: object) -> str:
    known = ", ".join(f'"{name}"' for name in NATIONS)
    return f'"{nation}" is not a UK nation with bank holidays: use one of {known}'
