"""Where a process finds the key ring that seals and opens its payloads.

In order: `SUPPORT_PROVISION_PAYLOAD_KEYS` (the ring's text, entries separated by commas),
`SUPPORT_PROVISION_PAYLOAD_KEY_FILE` (a key file, owner-only), else `payload-keys` in the
data folder (the dev stack's). The first that is set wins, so a production secret in the
environment is never shadowed by a file left behind in a data folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from activities.database import settings as database_settings
from protection.keys import KeyRing, KeyRingError, write_new

from .settings import Settings

KEYS_ENV = "SUPPORT_PROVISION_PAYLOAD_KEYS"
KEY_FILE_ENV = "SUPPORT_PROVISION_PAYLOAD_KEY_FILE"
KEY_FILE = "payload-keys"


class PayloadKeysMissing(KeyRingError):
    """No key ring is configured anywhere: the message says where one may be put."""


def payload_ring(settings_or_env: Settings | Mapping[str, str] | None = None) -> KeyRing:
    """The configured key ring; `KeyRingError` (one line) when it cannot be read, and
    `PayloadKeysMissing` when none is configured.

    With `Settings`, its data folder and the process environment; with a mapping, that
    mapping as the environment (its `SUPPORT_PROVISION_DATA`, else the default folder).
    """
    if isinstance(settings_or_env, Settings):
        env: Mapping[str, str] = os.environ
        data = settings_or_env.data_dir
    else:
        env = os.environ if settings_or_env is None else settings_or_env
        configured = env.get(database_settings.DATA_ENV_VAR)
        data = (
            Path(configured).expanduser().resolve() if configured else database_settings.data_dir()
        )
    if env.get(KEYS_ENV):
        return KeyRing.parse(env[KEYS_ENV], source=KEYS_ENV)
    if env.get(KEY_FILE_ENV):
        return KeyRing.read(Path(env[KEY_FILE_ENV]).expanduser())
    in_data = data / KEY_FILE
    if in_data.exists():
        return KeyRing.read(in_data)
    raise PayloadKeysMissing(
        f"No payload keys: set {KEYS_ENV} or {KEY_FILE_ENV}, or run `support-provision dev` "
        f"once to create {in_data}."
    )


def dev_payload_ring(data_dir: Path) -> KeyRing:
    """The dev stack's ring: the configured one, else one made for this data folder on
    its first start (`payload-keys`, mode 600) and kept, so its cases open next time."""
    try:
        return payload_ring(Settings(data_dir=data_dir))
    except PayloadKeysMissing:
        return write_new(data_dir / KEY_FILE, ("dev-1",))
