"""Key rings: the secret keys a process holds, each under an id.

A ring holds one *active* key, which seals what this process writes, and any number of
older keys, which only open what was sealed with them. Keys rotate by adding a new key as
the active one and keeping the old ones: a case started under key 1 carries on under key
2, and its old payloads (and every recorded history) still open. A key leaves the ring
only when nothing sealed with it can be read again: for payloads, once the namespace's
retention has passed since the last case that used it closed.

A ring is written as entries `<id>:<base64 of 32 bytes>`, the active key first, separated
by commas (an environment variable) or by lines (a key file, where `#` starts a comment).
`generate_entry` makes one. Where the keys live is the operator's choice: a file readable
by the service's user only, a secret store mounted as a file or set in the environment,
or a KMS that unwraps the file's keys at start (`KeyRing.parse` takes whatever text it
hands over).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
"""AES-256 and HMAC-SHA256 both take 32 bytes."""
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A key id: it is written into every payload's metadata and every identity token."""
MAX_KEYS = 100
MAX_TEXT = 64 * 1024


class KeyRingError(ValueError):
    """A ring that cannot be read: the message names the entry and what is wrong with it,
    never a key's bytes."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; `active` names the one that seals."""

    active: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyRingError(f'the active key "{self.active}" is not in the ring')

    @property
    def active_key(self) -> bytes:
        return self.keys[self.active]

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    @classmethod
    def parse(cls, text: str, *, source: str = "the key ring") -> KeyRing:
        """A ring from its written form: entries separated by commas or lines, the first
        the active key."""
        if len(text) > MAX_TEXT:
            raise KeyRingError(f"{source} is larger than {MAX_TEXT // 1024} KiB")
        entries = [
            entry.strip()
            for line in text.splitlines()
            for entry in line.split("#", 1)[0].split(",")
            if entry.strip()
        ]
        if not entries:
            raise KeyRingError(f"{source} holds no key")
        if len(entries) > MAX_KEYS:
            raise KeyRingError(f"{source} holds more than {MAX_KEYS} keys")
        keys: dict[str, bytes] = {}
        for number, entry in enumerate(entries, 1):
            key_id, key = _entry(entry, f"{source}, entry {number}")
            if key_id in keys:
                raise KeyRingError(f'{source}, entry {number}: the key id "{key_id}" is repeated')
            keys[key_id] = key
        return cls(active=next(iter(keys)), keys=keys)

    @classmethod
    def read(cls, path: Path) -> KeyRing:
        """A ring from a key file; refused when others than its owner may read it."""
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyRingError(
                    f"{path} may be read by others than its owner (mode "
                    f"{stat.S_IMODE(mode):o}); chmod 600 it"
                )
            return cls.parse(path.read_text(encoding="utf-8"), source=str(path))
        except OSError as error:
            raise KeyRingError(f"cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise KeyRingError(f"{path} is not text") from None

    def written(self) -> str:
        """The ring as a key file holds it: one entry a line, the active key first."""
        return "".join(f"{entry}\n" for entry in self._entries())

    def as_line(self) -> str:
        """The ring on one line, as an environment variable holds it: entries separated by
        commas, the active key first. `parse` reads it back."""
        return ",".join(self._entries())

    def _entries(self) -> list[str]:
        order = [self.active, *(k for k in self.keys if k != self.active)]
        return [f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in order]

    def rotated(self, entry: str) -> KeyRing:
        """This ring with a new active key, keeping the old ones to open what they sealed."""
        key_id, key = _entry(entry, "the new key")
        if key_id in self.keys:
            raise KeyRingError(f'the key id "{key_id}" is already in the ring')
        return KeyRing(active=key_id, keys={key_id: key, **self.keys})

    def __repr__(self) -> str:  # never a key's bytes in a log or a traceback
        return f"KeyRing(active={self.active!r}, ids={list(self.keys)!r})"


def generate_entry(key_id: str) -> str:
    """A new random key, written as a ring entry."""
    if not KEY_ID.fullmatch(key_id):
        raise KeyRingError(f'"{key_id}" is not a key id (letters, digits, . _ -; at most 64)')
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def write_new(path: Path, key_ids: Iterable[str] = ("k1",)) -> KeyRing:
    """Create a key file readable by its owner only, with new keys (the first active)."""
    ring = KeyRing.parse("\n".join(generate_entry(k) for k in key_ids), source=str(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(ring.written())
    return ring


def _entry(entry: str, where: str) -> tuple[str, bytes]:
    key_id, colon, encoded = entry.partition(":")
    key_id = key_id.strip()
    if not colon:
        raise KeyRingError(f"{where}: write it as <id>:<base64 of {KEY_BYTES} bytes>")
    if not KEY_ID.fullmatch(key_id):
        raise KeyRingError(f"{where}: the id is not letters, digits, . _ - (at most 64)")
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f'{where} ("{key_id}"): the key is not base64') from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f'{where} ("{key_id}"): the key is {len(key)} bytes, not {KEY_BYTES}')
    return key_id, key
