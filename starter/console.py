"""Shared plumbing for the command line: one clear line on stderr for every refusal."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

T = TypeVar("T")

# Piped output (scripts, logs) is not squeezed into 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit 1: how every command reports a refusal."""
    typer.echo(" ".join(str(message).split()), err=True)
    raise typer.Exit(1)


def require_choice(value: str | None, choices: Sequence[str], *, option: str, what: str) -> None:
    """Exit 1 with one line unless ``value`` is one of ``choices`` (or was not given), so
    that a mistyped filter is refused rather than answered with an empty list."""
    if value is not None and value not in choices:
        listed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
        fail(f"there is no {what} {value!r}; {option} takes {listed}")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def current_user() -> str:
    """Who the log says made a change when no `--by` is given."""
    try:
        fallback = getpass.getuser()
    except (KeyError, OSError):
        fallback = "cli"
    return os.environ.get("SUPPORT_PROVISION_USER", fallback)


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    typer.echo(json.dumps(data, indent=2, default=str))
