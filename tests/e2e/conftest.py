"""Fixtures for running the command line end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.database.directory import default_directory_file
from definitions.loader import default_definitions_dir
from starter.bootstrap import bootstrap


@pytest.fixture
async def ready_database(tmp_path: Path) -> str:
    """A SQLite database with the directory synced and the catalog published, as the dev
    stack leaves it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"
    await bootstrap(
        url,
        definitions=default_definitions_dir(),
        directory_file=default_directory_file(),
        by="test",
    )
    return url
