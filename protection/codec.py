"""Payloads sealed with AES-256-GCM before they leave the process, opened when they return.

Every payload a worker, client or the CLI hands Temporal (workflow and activity inputs and
results, update and signal arguments, query answers, and with `data_converter` the
messages and stack traces of failures) goes through `PayloadSealer`, so Temporal stores
only ciphertext: what a case records (incomes, arrears, notes) cannot be read from its
history, the UI or the CLI without a key, or the codec server that holds one.

A sealed payload is the original payload, serialised, encrypted under the ring's active
key with a fresh 96-bit nonce; its metadata says `binary/encrypted`, the cipher and the
key's id, and the id is bound into the ciphertext as associated data, so a payload cannot
be passed off as sealed under another key. Opening looks the key up by that id: a payload
sealed under any key of the ring opens, which is how keys rotate. A payload that is not
sealed (a history recorded before the codec, a caller without it) passes through as it
is; the case model reads and bounds it like any other.

A payload marked sealed that does not open (a key id the ring lacks, or bytes changed on
the way) is never a failed workflow task: Temporal would retry that task for ever, and a
caller could stop a case with one forged signal. It is handed on as an *unopened* payload
(`binary/unopened`, its data the reason in a line), which the case model refuses like any
request it cannot read (an update back to its caller, a signal recorded as rejected), and
which the SDK's converter refuses to turn into a value anywhere else (an activity result
sealed with a key this worker lacks: its workflow task fails, loudly, until the ring has
the key). Either way one warning line says which key was missing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from .keys import KeyRing

ENCODING = b"binary/encrypted"
CIPHER = b"AES-256-GCM"
KEY_ID = "encryption-key-id"
CIPHER_KEY = "encryption-cipher"
NONCE_BYTES = 12
UNOPENED = b"binary/unopened"
"""The encoding of a payload that was marked sealed but did not open; its data says why."""
_AAD = b"support-provision payload v1 key "

log = logging.getLogger("support_provision.codec")


class SealError(Exception):
    """A sealed payload this process cannot open: which key it needs, or that it was
    changed on the way. The message names the key id, never key bytes."""


class PayloadSealer(PayloadCodec):
    """The payload codec: seals with the ring's active key, opens with any of its keys."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open_or_mark(p) for p in payloads]

    def open_or_mark(self, payload: Payload) -> Payload:
        """The payload opened; one that will not open, marked `binary/unopened`."""
        try:
            return self.open(payload)
        except SealError as error:
            log.warning("left unopened: %s", error)
            return Payload(metadata={"encoding": UNOPENED}, data=str(error).encode())

    def seal(self, payload: Payload) -> Payload:
        key_id = self.ring.active
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, payload.SerializeToString(), _AAD + key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode(), CIPHER_KEY: CIPHER},
            data=nonce + sealed,
        )

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealError(
                f'a payload is sealed with the key "{key_id[:64]}", which is not in this '
                f"key ring ({', '.join(self.ring.keys)})"
            )
        data = payload.data
        try:
            opened = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _AAD + key_id.encode())
        except (InvalidTag, ValueError):
            raise SealError(
                f'a payload sealed with the key "{key_id}" does not open: it was changed, '
                "or sealed with another key of that id"
            ) from None
        original = Payload()
        original.ParseFromString(opened)
        return original


def data_converter(ring: KeyRing | None) -> DataConverter:
    """The project's data converter (pydantic), sealing payloads and failures with `ring`;
    without a ring, in the clear (for tools that read recorded histories)."""
    if ring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=PayloadSealer(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
