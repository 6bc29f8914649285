"""The application database: directory, published definitions and the case register.

SQLAlchemy 2 (async) on PostgreSQL through asyncpg in production and on SQLite through
aiosqlite as the embedded default. The schema is owned by the Alembic migrations in
``migrations/``; nothing here creates tables any other way.
"""
