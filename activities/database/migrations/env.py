"""Alembic environment: runs on a connection handed in by `migrate`, or opens its own.

`activities.database.migrate` passes a connection in ``config.attributes["connection"]``,
so migrations share the caller's engine settings and event loop. Run from the ``alembic``
command line instead, this opens an async engine on the configured URL itself.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from activities.database.engine import create_engine
from activities.database.models import Base
from activities.database.settings import database_url

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode writes that for us, and is a
        # plain ALTER on PostgreSQL, so one migration runs on both.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    asyncio.run(run_online())
