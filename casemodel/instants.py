"""How the case's messages write an instant: one form, so refusals and log entries agree.

UTC, to the minute, and to the second where the second is not zero, so that a task due
in seconds (the demonstration type, a test) reads as precisely as one due in days.
"""

from __future__ import annotations

from datetime import datetime


def when(instant: datetime) -> str:
    """`2026-03-09 09:00 UTC`, or `2026-12-01 12:11:15 UTC` off the minute."""
    shown = "%Y-%m-%d %H:%M:%S UTC" if instant.second else "%Y-%m-%d %H:%M UTC"
    return instant.strftime(shown)
