"""Where the payload keys come from: the environment's ring text, else its key file, else
the data folder's; the dev stack makes the folder's on its first start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from protection.keys import KeyRing, KeyRingError, generate_entry, write_new
from starter.payload_keys import PayloadKeysMissing, dev_payload_ring, payload_ring
from starter.settings import Settings


def test_the_environment_text_comes_first_then_the_key_file_then_the_data_folder(tmp_path: Path):
    in_folder = write_new(tmp_path / "payload-keys", ("folder",))
    key_file = write_new(tmp_path / "elsewhere" / "keys", ("file",))
    text = generate_entry("env")
    data = {"SUPPORT_PROVISION_DATA": str(tmp_path)}
    everything = {
        **data,
        "SUPPORT_PROVISION_PAYLOAD_KEYS": text,
        "SUPPORT_PROVISION_PAYLOAD_KEY_FILE": str(tmp_path / "elsewhere" / "keys"),
    }
    assert payload_ring(everything).active == "env"
    del everything["SUPPORT_PROVISION_PAYLOAD_KEYS"]
    assert payload_ring(everything) == key_file
    assert payload_ring(data) == in_folder


def test_settings_name_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SUPPORT_PROVISION_PAYLOAD_KEYS", raising=False)
    monkeypatch.delenv("SUPPORT_PROVISION_PAYLOAD_KEY_FILE", raising=False)
    ring = write_new(tmp_path / "payload-keys")
    assert payload_ring(Settings(data_dir=tmp_path)) == ring


def test_no_keys_anywhere_says_where_to_put_them(tmp_path: Path):
    with pytest.raises(PayloadKeysMissing) as missing:
        payload_ring({"SUPPORT_PROVISION_DATA": str(tmp_path)})
    said = str(missing.value)
    assert "SUPPORT_PROVISION_PAYLOAD_KEYS" in said and str(tmp_path / "payload-keys") in said


def test_a_ring_that_cannot_be_read_is_one_line_without_key_bytes(tmp_path: Path):
    with pytest.raises(KeyRingError) as bad:
        payload_ring({"SUPPORT_PROVISION_PAYLOAD_KEYS": "k1:bm90IDMyIGJ5dGVz"})
    assert "SUPPORT_PROVISION_PAYLOAD_KEYS" in str(bad.value) and "bm90" not in str(bad.value)


def test_the_dev_stack_makes_its_folder_ring_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SUPPORT_PROVISION_PAYLOAD_KEYS", raising=False)
    monkeypatch.delenv("SUPPORT_PROVISION_PAYLOAD_KEY_FILE", raising=False)
    first = dev_payload_ring(tmp_path)
    assert stat.S_IMODE((tmp_path / "payload-keys").stat().st_mode) == 0o600
    assert dev_payload_ring(tmp_path) == first
    assert KeyRing.read(tmp_path / "payload-keys") == first
