"""`support-provision db`: the application database's schema, and the CLI's way in.

Every command that touches the database goes through `with_session`, so a database that
is unreachable, not yet upgraded or not there at all ends in one line on stderr and exit 1,
never in a traceback. Only `db upgrade` (and the dev stack) creates a database.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from activities.database import migrate
from activities.database.engine import create_engine, reading, session_factory
from activities.database.settings import (
    ENV_VAR,
    DatabaseMissing,
    UnsupportedDatabase,
    database_url,
    existing_database_url,
)

from .console import fail, run

T = TypeVar("T")

app = typer.Typer(
    help="Manage the application database (DATABASE_URL; SQLite in the data folder by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Database URL (default: $DATABASE_URL, else SQLite in the data folder).",
        show_default=False,
    ),
]


@app.command()
def upgrade(url: UrlOption = None) -> None:
    """Apply the migrations the database lacks; does nothing when it is up to date."""
    url = _url(url, creating=True)
    try:
        result = run(migrate.upgrade(url))
    except (SQLAlchemyError, CommandError, OSError) as error:
        fail(f"could not upgrade the database at {_display(url)}: {explain(error)}")
    if result.changed:
        typer.echo(f"Upgraded {result.url} from {result.before or '(empty)'} to {result.after}.")
    else:
        typer.echo(f"{result.url} is up to date (revision {result.after}); nothing to do.")


@app.command()
def current(url: UrlOption = None) -> None:
    """Print the revision the database is at, and the newest one this version knows."""
    url = existing_url(url)
    try:
        revision = run(migrate.current_revision(url))
    except (SQLAlchemyError, OSError) as error:
        fail(f"could not read the database at {_display(url)}: {explain(error)}")
    head = migrate.head_revision()
    state = "up to date" if revision == head else "run `support-provision db upgrade`"
    typer.echo(f"{_display(url)}: revision {revision or '(empty)'}, newest {head}: {state}")


class RegisterAway(RuntimeError):
    """The database could not be read; the message says why, in a few words."""


def with_session(
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    what: str,
    url: str | None = None,
    quiet: bool = False,
    read_only: bool = False,
) -> T:
    """Run ``work`` in one transaction; database trouble ends in one line and exit 1, or
    (``quiet``) raises `RegisterAway` for a command that can do without the database.
    A ``read_only`` transaction takes no write lock, so it answers while a worker writes."""
    if quiet:
        try:
            url = existing_database_url(url)
        except (UnsupportedDatabase, DatabaseMissing) as error:
            raise RegisterAway(str(error)) from None
    else:
        url = existing_url(url)

    async def go() -> T:
        engine = create_engine(url)
        try:
            bound = reading(engine) if read_only else engine
            async with session_factory(bound).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return run(go())
    except (SQLAlchemyError, OSError) as error:
        if quiet:
            raise RegisterAway(explain(error)) from None
        fail(f"could not {what} in the database at {_display(url)}: {explain(error)}")


def explain(error: BaseException) -> str:
    """The first line of what the database said, with what to do about a missing schema
    or a server that cannot be reached."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in text:
        return f"connection refused; is the database server running, and is {ENV_VAR} right?"
    if isinstance(cause, socket.gaierror):
        return f"the host is not known; check {ENV_VAR}"
    if isinstance(cause, TimeoutError):
        return f"the database server did not answer in time; check {ENV_VAR}"
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"{text}; run `support-provision db upgrade` first"
    return text


def existing_url(url: str | None = None) -> str:
    """The database URL for a command that reads or changes what is there; a SQLite file
    that does not exist ends in one line saying so, and is not created."""
    return _url(url, creating=False)


def _url(url: str | None, *, creating: bool) -> str:
    try:
        return database_url(url) if creating else existing_database_url(url)
    except (UnsupportedDatabase, DatabaseMissing) as error:
        fail(str(error))


def _display(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:  # not a URL at all: say so with what was given
        return repr(url)
