"""Count the SDK's warnings instead of printing a traceback for each.

Activity retries (e.g. SQLite `database is locked`) are part of what is measured; the
first of each kind is shown on one line, and the counts go into the results.
"""

from __future__ import annotations

import logging
from collections import Counter

from .env import progress


class CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        kind = record.getMessage().split("(")[0].strip()[:80]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            cause = error.__cause__ or error
            first = str(cause).splitlines()[0][:100] if str(cause) else ""
            kind += f": {type(cause).__name__}: {first}"
        if not self.counts[kind]:
            progress(f"worker log ({record.name}, first of its kind): {kind}")
        self.counts[kind] += 1


def install() -> CountingHandler:
    handler = CountingHandler()
    for name in ("temporalio",):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    return handler
