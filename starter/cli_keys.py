"""``support-provision keys``: make, rotate and list the keys that seal case payloads.

A key file holds one key a line, `<id>:<base64>`, the active key first (`protection.keys`).
These commands never print a key's bytes; they only write them, to a file only its owner
may read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from protection.keys import KeyRing, KeyRingError, generate_entry, write_new

from .console import fail
from .payload_keys import (
    DEV_KEY_ID,
    KEY_FILE_ENV,
    KEYS_ENV,
    PayloadKeysUnavailable,
    configured_source,
    default_key_file,
    load_ring,
)

app = typer.Typer(
    help="Keys that encrypt case payloads in Temporal: create a key file, rotate, list.",
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="FILE",
        help=f"The key file (default: ${KEY_FILE_ENV}, else payload-keys in the data folder).",
        show_default=False,
    ),
]


def _key_file(given: Path | None) -> Path:
    if given is not None:
        return given
    named = os.environ.get(KEY_FILE_ENV, "").strip()
    return Path(named).expanduser() if named else default_key_file()


@app.command("new")
def new(
    file: FileArgument = None,
    key_id: Annotated[
        str, typer.Option("--id", metavar="ID", help="The new key's id.")
    ] = DEV_KEY_ID,
) -> None:
    """Create a key file (mode 600) holding one new random key; refused if it exists."""
    path = _key_file(file)
    try:
        write_new(path, (key_id,))
    except FileExistsError:
        fail(
            f"{path} already exists; to add a key, `support-provision keys rotate {path} --id ID`."
        )
    except KeyRingError as problem:
        fail(str(problem))
    except OSError as error:
        fail(f"Cannot write {path}: {error.strerror or error}")
    typer.echo(
        f"Created {path} with the key {key_id} (mode 600). Keep a copy somewhere safe, apart "
        "from Temporal's backups: without the key, what it sealed cannot be read."
    )


@app.command("rotate")
def rotate(
    file: FileArgument = None,
    key_id: Annotated[
        str, typer.Option("--id", metavar="ID", help="The new active key's id.")
    ] = "",
) -> None:
    """Add a new active key to a key file; the old keys stay, to open what they sealed."""
    if not key_id:
        fail("Name the new key: `support-provision keys rotate [FILE] --id ID`.")
    path = _key_file(file)
    try:
        ring = KeyRing.read(path).rotated(generate_entry(key_id))
        _replace(path, ring.written())
    except KeyRingError as problem:
        fail(f"Cannot rotate: {problem}.")
    except OSError as error:
        fail(f"Cannot write {path}: {error.strerror or error}")
    others = ", ".join(k for k in ring.keys if k != ring.active)
    typer.echo(
        f"{path}: {ring.active} is the active key now; the older keys ({others}) still "
        "open what they sealed. Restart every worker, client and codec server with this file."
    )


@app.command("list")
def list_keys(file: FileArgument = None) -> None:
    """The key ids of a key file (default: the configured keys) and which one is active."""
    try:
        if file is not None:
            ring, where = KeyRing.read(file), str(file)
        else:
            source = configured_source()
            ring = load_ring()
            where = source.where if source else KEYS_ENV
    except KeyRingError as problem:
        fail(f"Cannot use the payload keys: {problem}.")
    except PayloadKeysUnavailable as missing:
        fail(str(missing))
    typer.echo(f"Keys from {where}:")
    for key_id in ring.keys:
        typer.echo(
            f"  {key_id}{'  active: seals what is written now' if key_id == ring.active else ''}"
        )


def _replace(path: Path, text: str) -> None:
    """Write `text` over `path` at once (a reader sees the old file or the new one, never
    half of one), readable by its owner only."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp makes it 600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
