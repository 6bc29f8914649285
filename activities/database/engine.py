"""Engines and sessions, with the SQLite settings the service relies on."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

from .settings import database_url

SQLITE_BUSY_TIMEOUT_MS = 15_000


def create_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (default: `database_url()`).

    SQLite gets foreign keys, WAL (readers do not wait for the worker's writes), a busy
    timeout, and transactions SQLAlchemy controls (so that migrations are transactional
    there as they are on PostgreSQL): write-locking ones (`BEGIN IMMEDIATE`) for writes,
    plain ones for reads (`reading`), which never wait for a writer.

    On either database a connection that failed in a way only a new connection can mend
    (SQLite opened the file read-only while its folder was, or lost it: "attempt to write
    a readonly database", "disk I/O error") is thrown away rather than handed out again,
    so the service recovers by itself once the files are writable.
    """
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "handle_error", _discard_broken_connection)
        return engine
    if parsed.database in (None, "", ":memory:"):
        kwargs.setdefault("poolclass", StaticPool)
    engine = _create_async_engine(url, **kwargs)
    _configure_sqlite(engine)
    event.listen(engine.sync_engine, "handle_error", _discard_broken_connection)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no lazy reloads in async)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def reading(engine: AsyncEngine) -> AsyncEngine:
    """`engine` for reads only: on SQLite its transactions take no write lock, so a list
    answers while the worker writes (WAL: a reader sees the last commit)."""
    return engine.execution_options(**{READ_ONLY: True})


READ_ONLY = "support_provision_read_only"
BROKEN_CONNECTION = (
    "attempt to write a readonly database",
    "disk i/o error",
    "read-only transaction",
    "unable to open database file",
    "database disk image is malformed",
)
"""SQLite errors that stay with the connection that met them: SQLite decides at open
whether it may write (a file or folder read-only then keeps the connection read-only for
good) and a lost file handle does not come back."""


def _discard_broken_connection(context: ExceptionContext) -> None:
    if any(words in str(context.original_exception).lower() for words in BROKEN_CONNECTION):
        context.is_disconnect = True  # the pool invalidates it and opens a new one
        _close_cursor(context)


def _close_cursor(context: ExceptionContext) -> None:
    """Close the cursor the failed statement ran on, which SQLAlchemy leaves open on a
    connection it throws away (it takes the connection for dead).

    On SQLite an open cursor keeps its statement, and a connection closed with a statement
    left is not closed at all: the library keeps it until the statement goes, here when
    the garbage collector frees the failed attempt's traceback, which can take minutes in
    a worker. While it lingers, every connection the process opens to the same file
    shares its WAL index (the ``-shm`` file), which it opened read-only while the files
    were: each new connection is read-only too, long after the files are writable again
    (the fault drill's worker wrote nothing for four minutes). Closed now, the next
    connection opens the files as they are."""
    cursor = getattr(context.execution_context, "cursor", None)
    if cursor is None:
        return
    with contextlib.suppress(Exception):  # a cursor of a dead connection may not close
        cursor.close()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver would otherwise begin and commit behind SQLAlchemy's back, and
        # commit before every DDL statement.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, waiting up to the busy timeout. A plain
        # BEGIN that reads first and then writes fails at once with "database is locked"
        # if another writer committed in between: the busy timeout does not cover that
        # upgrade. A transaction that only reads never upgrades, so it needs no lock.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
