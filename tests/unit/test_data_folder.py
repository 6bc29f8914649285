"""One data folder per user, found the same way by every part, and never made by a read."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from activities.database.settings import (
    DatabaseMissing,
    data_dir,
    database_url,
    existing_database_url,
    sqlite_file,
)
from starter.settings import Settings


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of the test's own, so the default never lands in the real one."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return home


@pytest.mark.parametrize("unset", ["", None])
def test_without_a_setting_the_data_folder_is_the_users_own(
    user_home: Path, unset: str | None, monkeypatch: pytest.MonkeyPatch
):
    if unset is None:
        monkeypatch.delenv("SUPPORT_PROVISION_DATA", raising=False)
    else:
        monkeypatch.setenv("SUPPORT_PROVISION_DATA", unset)
    expected = platformdirs.user_data_path("support-provision", appauthor=False)
    assert data_dir() == expected.resolve()
    assert user_home in data_dir().parents


def test_the_data_folder_does_not_depend_on_where_a_command_runs(
    user_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", "")
    seen = set()
    for folder in (tmp_path / "one", tmp_path / "two"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        seen.add((data_dir(), database_url(), Settings.from_env().data_dir))
    assert len(seen) == 1


def test_the_setting_overrides_and_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", "state")
    assert data_dir() == tmp_path.resolve() / "state"
    assert Settings.from_env().data_dir == Settings().data_dir == data_dir()


def test_finding_the_database_creates_nothing(user_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", "")
    url = database_url()
    assert sqlite_file(url) == data_dir() / "support-provision.db"
    with pytest.raises(DatabaseMissing) as missing:
        existing_database_url()
    message = str(missing.value)
    assert str(data_dir() / "support-provision.db") in message
    assert "support-provision dev" in message and "DATABASE_URL" in message
    assert not user_home.exists()


def test_an_existing_database_or_a_server_url_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", str(tmp_path))
    (tmp_path / "support-provision.db").touch()
    assert existing_database_url() == database_url()
    server = "postgresql://postgres@127.0.0.1:5432/support"
    assert existing_database_url(server) == "postgresql+asyncpg://postgres@127.0.0.1:5432/support"
    assert sqlite_file("sqlite+aiosqlite://") is None


def test_the_test_session_never_uses_the_real_user_folder():
    """conftest points both the setting and the user data folder at a scratch folder."""
    scratch = Path(os.environ["SUPPORT_PROVISION_DATA"]).parent
    assert scratch.name.startswith("support-provision-tests-")
    assert Path(os.environ["XDG_DATA_HOME"]).parent == scratch
