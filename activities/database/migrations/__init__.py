"""Alembic migrations of the application database (see `activities.database.migrate`)."""
