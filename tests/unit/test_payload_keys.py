"""Where payload keys are found, what is refused without them, and the `keys` commands."""

from __future__ import annotations

import base64
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from protection.keys import KeyRing, generate_entry, write_new
from starter.cli import app
from starter.client import CaseClient, CaseRefused
from starter.payload_keys import (
    KEY_FILE_ENV,
    KEYS_ENV,
    PayloadKeysUnavailable,
    ensure_dev_keys,
    load_ring,
)
from starter.settings import Settings

BASE64_KEY = re.compile(r"[A-Za-z0-9+/]{43}=")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own and no keys configured (the session's are set aside)."""
    data = tmp_path / "data"
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", str(data))
    monkeypatch.delenv(KEYS_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    return data


def test_the_environment_ring_comes_first_then_the_named_file_then_the_data_folder(
    folder: Path, tmp_path: Path
):
    write_new(folder / "payload-keys", ("in-folder",))
    named = tmp_path / "named-keys"
    write_new(named, ("in-file",))
    env = {KEYS_ENV: f"{generate_entry('in-env')},{generate_entry('older')}"}
    assert load_ring(env, folder).active == "in-env"
    assert list(load_ring(env, folder).keys) == ["in-env", "older"]
    assert load_ring({KEY_FILE_ENV: str(named)}, folder).active == "in-file"
    assert load_ring({}, folder).active == "in-folder"
    # Empty means unset, as for the other settings.
    assert load_ring({KEYS_ENV: " ", KEY_FILE_ENV: ""}, folder).active == "in-folder"


def test_without_keys_one_line_says_where_they_are_looked_for(folder: Path):
    with pytest.raises(PayloadKeysUnavailable) as missing:
        load_ring({}, folder)
    message = str(missing.value)
    assert "\n" not in message
    for where in (KEYS_ENV, KEY_FILE_ENV, str(folder / "payload-keys"), "keys new"):
        assert where in message


@pytest.mark.parametrize(
    ("ring", "said"),
    [
        ("k1:" + base64.b64encode(b"short").decode(), 'entry 1 ("k1"): the key is 5 bytes, not 32'),
        ("GOOD,no-colon-here", "entry 2: write it as <id>:<base64 of 32 bytes>"),
        ("GOOD,k2:@@@@", 'entry 2 ("k2"): the key is not base64'),
        ("GOOD,GOOD", 'entry 2: the key id "k1" is repeated'),
    ],
)
def test_a_bad_ring_names_the_entry_and_the_problem_never_the_key(
    folder: Path, ring: str, said: str
):
    good = generate_entry("k1")
    with pytest.raises(PayloadKeysUnavailable) as bad:
        load_ring({KEYS_ENV: ring.replace("GOOD", good)}, folder)
    message = str(bad.value)
    assert said in message and KEYS_ENV in message
    assert good.split(":")[1] not in message and not BASE64_KEY.search(message)


def test_a_key_file_others_may_read_is_refused(folder: Path, tmp_path: Path):
    path = tmp_path / "open-keys"
    write_new(path)
    path.chmod(0o644)
    with pytest.raises(PayloadKeysUnavailable, match="may be read by others.*chmod 600"):
        load_ring({KEY_FILE_ENV: str(path)}, folder)
    with pytest.raises(PayloadKeysUnavailable, match="cannot read .*missing"):
        load_ring({KEY_FILE_ENV: str(tmp_path / "missing")}, folder)


def test_the_dev_stack_makes_a_key_file_once_and_only_without_keys(folder: Path):
    assert ensure_dev_keys(folder, {KEYS_ENV: generate_entry("k9")}) is None
    assert not (folder / "payload-keys").exists()
    made = ensure_dev_keys(folder, {})
    assert made == folder / "payload-keys"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    first = made.read_text()
    assert list(KeyRing.read(made).keys) == ["k1"]
    assert ensure_dev_keys(folder, {}) is None
    assert made.read_text() == first


async def test_a_client_without_keys_is_refused_before_it_connects(folder: Path):
    settings = Settings(temporal_address="127.0.0.1:1", data_dir=folder)
    with pytest.raises(CaseRefused) as refused:
        await CaseClient.connect(settings)
    assert refused.value.code == "payload_keys_unavailable"
    assert "No payload keys" in refused.value.message


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("folder")
def test_the_worker_without_keys_refuses_in_one_line():
    code, _, err = invoke("worker")
    assert code == 1
    assert err.count("\n") == 1 and "No payload keys" in err and KEYS_ENV in err


def test_keys_new_rotate_and_list(folder: Path):
    path = folder / "payload-keys"
    code, out, _ = invoke("keys", "new")
    assert code == 0 and str(path) in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = KeyRing.read(path)
    assert list(first.keys) == ["k1"]

    code, _, err = invoke("keys", "new")
    assert code == 1 and "already exists" in err
    assert KeyRing.read(path) == first

    code, _, err = invoke("keys", "rotate")
    assert code == 1 and "--id ID" in err
    code, out, _ = invoke("keys", "rotate", "--id", "k2")
    assert code == 0 and "k2 is the active key now" in out and "(k1)" in out
    rotated = KeyRing.read(path)
    assert rotated.active == "k2" and rotated.keys["k1"] == first.keys["k1"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["payload-keys"]  # no temporary left
    code, _, err = invoke("keys", "rotate", "--id", "k1")
    assert code == 1 and '"k1" is already in the ring' in err

    code, out, _ = invoke("keys", "list")
    assert code == 0
    assert re.search(r"k2\s+active", out) and re.search(r"^\s+k1$", out, re.MULTILINE)
    assert not BASE64_KEY.search(out)
    other = folder / "other-keys"
    code, out, _ = invoke("keys", "new", str(other), "--id", "spare")
    assert code == 0 and list(KeyRing.read(other).keys) == ["spare"]
    code, out, _ = invoke("keys", "list", str(other))
    assert code == 0 and "spare" in out and "k1" not in out


def test_a_ring_on_one_line_reads_back_as_the_same_ring_active_key_first():
    ring = KeyRing.parse(generate_entry("k1")).rotated(generate_entry("k2"))
    line = ring.as_line()

    assert "\n" not in line and line.count(",") == 1 and line.startswith("k2:")
    assert KeyRing.parse(line) == ring
    assert KeyRing.parse(line).active == "k2"
    assert KeyRing.parse(ring.written()) == ring  # the key file's form, one entry a line
