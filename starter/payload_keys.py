"""Where a worker, the CLI and the client find the keys that seal case payloads.

Looked for in this order, the first that is set wins:

1. `SUPPORT_PROVISION_PAYLOAD_KEYS`: the ring itself, `id:base64,id:base64`, the active key
   first (a secret store that sets the environment, or a KMS wrapper that unwraps a key
   file and hands the text over);
2. `SUPPORT_PROVISION_PAYLOAD_KEY_FILE`: a key file (`protection.keys`), mode 600;
3. `<data folder>/payload-keys`, when it exists (`support-provision dev` writes it on its
   first run).

Without any of them nothing that talks to Temporal starts: a service that would quietly
write tenant data in clear text is worse than one that refuses in one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from activities.database.settings import data_dir
from protection.keys import KeyRing, KeyRingError, write_new

KEYS_ENV = "SUPPORT_PROVISION_PAYLOAD_KEYS"
KEY_FILE_ENV = "SUPPORT_PROVISION_PAYLOAD_KEY_FILE"
KEY_FILE_NAME = "payload-keys"
DEV_KEY_ID = "k1"


class PayloadKeysUnavailable(Exception):
    """No usable key ring: none is configured, or the one configured cannot be read. The
    message is one line, names where keys are looked for or what is wrong with which
    entry, and never holds key bytes."""

    code = "payload_keys_unavailable"


@dataclass(frozen=True)
class KeySource:
    """Where a ring comes from, for messages and `keys list`."""

    where: str
    path: Path | None = None


def default_key_file(folder: Path | None = None) -> Path:
    """The key file of the data folder (which need not exist)."""
    return (folder or data_dir()) / KEY_FILE_NAME


def configured_source(
    env: Mapping[str, str] | None = None, folder: Path | None = None
) -> KeySource | None:
    """Where the configuration says the ring is; None when nothing names one."""
    env = os.environ if env is None else env
    if env.get(KEYS_ENV, "").strip():
        return KeySource(KEYS_ENV)
    named = env.get(KEY_FILE_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        return KeySource(f"{KEY_FILE_ENV} ({path})", path)
    default = default_key_file(folder)
    if default.exists():
        return KeySource(str(default), default)
    return None


def where_keys_are_looked_for(folder: Path | None = None) -> str:
    return f"{KEYS_ENV}, {KEY_FILE_ENV} or {default_key_file(folder)}"


def load_ring(env: Mapping[str, str] | None = None, folder: Path | None = None) -> KeyRing:
    """The configured ring, or `PayloadKeysUnavailable` saying why not in one line."""
    env = os.environ if env is None else env
    source = configured_source(env, folder)
    if source is None:
        raise PayloadKeysUnavailable(
            "No payload keys: case data is only sent to Temporal encrypted. Keys are looked "
            f"for in {where_keys_are_looked_for(folder)}; create a key file with "
            "`support-provision keys new` (the dev stack makes one on its first run)."
        )
    try:
        if source.path is None:
            return KeyRing.parse(env[KEYS_ENV], source=KEYS_ENV)
        return KeyRing.read(source.path)
    except KeyRingError as problem:
        raise PayloadKeysUnavailable(f"Cannot use the payload keys: {problem}.") from None


def ensure_dev_keys(folder: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """For the dev stack: when no keys are configured, write `<folder>/payload-keys` with
    one new key (mode 600) and return its path; None when keys were configured already."""
    if configured_source(env, folder) is not None:
        return None
    path = default_key_file(folder)
    try:
        write_new(path, (DEV_KEY_ID,))
    except FileExistsError:  # another process wrote it just now
        return None
    return path


def describe_ring(ring: KeyRing) -> str:
    """The ring's ids, the active one marked: what an operator needs, never key bytes."""
    return ", ".join(f"{k} (active)" if k == ring.active else k for k in ring.keys)
