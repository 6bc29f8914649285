"""What one attempt of an activity says about itself: that it is alive, and why it failed.

Temporal keeps an activity's last failure (message, type, stack trace, and every cause
chained to it) and refuses one that is too large, storing "Failure exceeds size limit."
instead: a database error chained through SQLAlchemy, the driver and asyncio is that
large. So a failure worth retrying leaves as one `ApplicationError` carrying a short,
true line (the database's or mail server's own words), with nothing chained, and the
worker logs one line per failed attempt. An error nobody expected is logged once with
its traceback (on the first attempt), and leaves the same short way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.mailer import MailUnavailable

REASON_LIMIT = 400
"""Characters of an error kept in a failure: a line, never a traceback."""
HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats: well inside the heartbeat timeout the workflow sets, so a
worker that dies is noticed within that timeout, not the start-to-close one."""
EXPECTED: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, MailUnavailable)
"""What retrying can mend: a database or mail server that is busy, away or read-only."""


def reason(error: BaseException) -> str:
    """The error in one short line: the driver's words for a database error, without
    SQLAlchemy's statement, parameters and link."""
    found: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        found = error.orig
    lines = str(found).strip().splitlines()
    text = lines[0].strip() if lines else ""
    text = text or type(found).__name__
    if len(text) > REASON_LIMIT:
        text = text[: REASON_LIMIT - 1] + "…"
    return text


@contextlib.contextmanager
def failing_briefly(what: str) -> Iterator[None]:
    """Turn an exception leaving the activity into a short `ApplicationError`, logged
    once: one warning line per retry, a traceback only for an unexpected error."""
    try:
        yield
    except ApplicationError:
        raise
    except asyncio.CancelledError as error:
        # A local activity (the register written locally first) that overran its time
        # limit is cancelled, and its result is dropped: the write goes again remotely.
        # Leaving as a short failure keeps the SDK from logging a traceback for it.
        if not _local():
            raise
        line = f"{what}: cut short at the local write's time limit"
        activity.logger.warning("attempt %d failed, will retry: %s", _attempt(), line)
        raise _short(line, error) from None
    except EXPECTED as error:
        line = f"{what}: {reason(error)}"
        activity.logger.warning("attempt %d failed, will retry: %s", _attempt(), line)
        raise _short(line, error) from None
    except Exception as error:
        line = f"{what}: {type(error).__name__}: {reason(error)}"
        if _attempt() == 1:
            activity.logger.exception("unexpected failure, will retry: %s", line)
        else:
            activity.logger.warning("attempt %d failed, will retry: %s", _attempt(), line)
        raise _short(line, error) from None


def alive() -> None:
    """Heartbeat now (the SDK sends it at once unless one went within its throttle
    interval); nothing outside an activity."""
    with contextlib.suppress(RuntimeError):
        activity.heartbeat()


@contextlib.asynccontextmanager
async def heartbeating(every: float = HEARTBEAT_EVERY) -> AsyncIterator[None]:
    """Heartbeat in the background while the block runs (a mail server may take its
    time over one message: the attempt is alive all the same)."""

    async def beat() -> None:
        while True:
            alive()
            await asyncio.sleep(every)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


def _short(line: str, error: BaseException) -> ApplicationError:
    # BENIGN: the SDK then logs the failure at DEBUG, so the line above is the only one.
    return ApplicationError(
        line, type=type(error).__name__, category=ApplicationErrorCategory.BENIGN
    )


def _local() -> bool:
    try:
        return activity.info().is_local
    except RuntimeError:
        return False


def _attempt() -> int:
    try:
        return activity.info().attempt
    except RuntimeError:  # not in an activity (a direct call in a test)
        return 1
