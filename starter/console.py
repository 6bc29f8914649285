"""Shared plumbing for the command line: one clear line on stderr for every refusal."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Coroutine, Sequence
from datetime import date
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from typer import rich_utils

# typer carries its own copy of click and does not re-export its exceptions.
from typer._click.exceptions import BadParameter, UsageError
from typer.core import TyperArgument, TyperOption

from definitions.periods import View, calendar_date

T = TypeVar("T")

# Piped output (scripts, logs) is not squeezed into 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)


# What a value option shows in --help when it names no metavar of its own, by the type
# typer reports for it.
_METAVARS = {
    "str": "TEXT",
    "int": "N",
    "float": "NUMBER",
    "bool": "BOOLEAN",
    "datetime": "DATE",
    "path": "PATH",
    "file": "FILE",
    "dir": "DIR",
}


def readable_help() -> None:
    """Make every command's --help read as a person types the command.

    typer prints its Python type beside each parameter: ``--json <bool>`` on a flag that
    takes no value, ``--owner <str>``, ``CASE <str>``, and braces round required
    arguments in the usage line (``{CASE}``). Changed here, once, for every command:
    a flag shows no placeholder, a value option its own metavar or one named after its
    type (TEXT, N, PATH, DATE, …), and an argument its metavar (its name in capitals),
    bare when required and in brackets when not. And a command's docstring reads as
    paragraphs: typer joins the lines of its first one only, and printed the others
    broken where the source wraps, then again where the terminal does.
    """
    rich_utils._fix_linebreaks = _joined_paragraphs
    TyperOption.display_type_rich = _option_placeholder  # type: ignore[method-assign,assignment]
    TyperArgument.display_type_rich = _no_placeholder  # type: ignore[method-assign,assignment]
    TyperArgument.display_name_raw = property(_argument_name)  # type: ignore[assignment]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign,assignment]


def _joined_paragraphs(paragraphs: list[str], markup_mode: str) -> str:
    """The paragraphs after a command's first, each on one line for the terminal to wrap
    (one that starts with click's ``\\b`` keeps its lines)."""
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _option_placeholder(option: TyperOption, ctx: typer.Context) -> str | None:
    if option.is_flag or option.count:
        return None
    if option.metavar is not None:
        return option.metavar
    label = option.display_type(ctx).strip("<>")
    if option.type_descriptor.is_choice:
        return f"[{label}]"
    element = label.removeprefix("list[").removesuffix("]")
    return _METAVARS.get(element, element.upper())


def _no_placeholder(argument: TyperArgument, ctx: typer.Context) -> None:
    return None


def _argument_name(argument: TyperArgument) -> str:
    return argument.metavar or (argument.name or "").upper()


def _argument_usage(argument: TyperArgument) -> str:
    name = argument.display_name_raw
    if not argument.required and not name.startswith("["):
        name = f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit 1: how every command reports a refusal."""
    typer.echo(" ".join(str(message).split()), err=True)
    raise typer.Exit(1)


def bad_value(option: str, message: str) -> NoReturn:
    """Refuse a value the command line itself gets wrong, which can be judged before
    anything is contacted: a mistake in the command line, told as typer tells a number
    that is not one, in one line with the command's --help and exit 2 (`cli.main`)."""
    raise BadParameter(" ".join(message.split()), param_hint=f"'{option}'")


def bad_usage(message: str) -> NoReturn:
    """Refuse options that do not go together, as `bad_value` refuses a value."""
    raise UsageError(" ".join(message.split()))


def require_choice(value: str | None, choices: Sequence[str], *, option: str, what: str) -> None:
    """Refuse ``value`` (`bad_value`) unless it is one of ``choices`` or was not given, so
    that a mistyped filter is refused rather than answered with an empty list."""
    if value is not None and value not in choices:
        listed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
        bad_value(option, f"there is no {what} {value!r}; choose {listed}")


LIST_LIMIT = 10_000
"""The most rows a list command prints at once: one rule for every `--limit`, so that a
mistyped value is a usage error with the range, never a database error."""
LimitOption = Annotated[
    int,
    typer.Option(
        "--limit", metavar="N", min=1, max=LIST_LIMIT, help=f"At most this many (1-{LIST_LIMIT:,})."
    ),
]
"""`--limit N`: how many rows a list command prints (`LIST_LIMIT` at most)."""


def cut_by_limit(shown: int, found: int, *, order: str) -> None:
    """Say on stderr (so that --json stays JSON) when `--limit` cut a list: `found` rows
    were read, one more than `shown` when there were more."""
    if found > shown:
        typer.echo(f"Showing the {order} {shown}; --limit shows more.", err=True)


AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="DATE",
        help="The day to look from, YYYY-MM-DD (default: today, in each type's calendar).",
        show_default=False,
    ),
]
"""`--at DATE`: the day the definition commands look from."""


def day_option(value: str | None, *, option: str) -> date | None:
    """The day an option names, written YYYY-MM-DD; refused (`bad_value`) when it is not
    one. Read here rather than as typer's date type, which would also take a time of day."""
    if value is None:
        return None
    day = calendar_date(value)
    if day is None:
        bad_value(
            option, f"{value!r} is not a day that exists, written YYYY-MM-DD, e.g. 2027-04-01"
        )
    return day


VIEWS = [view.value for view in View]


def view_option(value: str | None) -> View:
    """The view ``--view`` names (current by default); refused (`bad_value`) otherwise."""
    require_choice(value, VIEWS, option="--view", what="view")
    return View(value or View.current)


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
