"""Every command's --help, as a person reads it: no type placeholders, help on every option."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from starter.cli import app

# typer's own type labels (`<bool>`, `<str>`, `<int>`, `<path>`…) and required-argument
# braces (`{CASE}`).
PLACEHOLDER = re.compile(r"<[a-z][a-z_\[\]|,.]*>|\{[A-Za-z_]+\}")


def commands(
    command: Any = None, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    command = command or get_command(app)
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, (*path, name))


ALL = list(commands())


def help_of(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "(root)")
def test_help_shows_no_type_placeholders(path: tuple[str, ...]):
    shown = help_of(path)
    assert not PLACEHOLDER.findall(shown), shown


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) or "(root)" for p, _ in ALL])
def test_every_option_has_help(path: tuple[str, ...], command: Any):
    silent = [
        "/".join(param.opts)
        for param in command.params
        if param.param_type_name == "option" and not param.hidden and not (param.help or "").strip()
    ]
    assert not silent, f"{' '.join(path)}: options without help: {silent}"


def test_flags_take_no_placeholder_and_values_a_metavar():
    shown = help_of(("case", "list"))
    json_row = next(line for line in shown.splitlines() if "--json" in line)
    assert re.search(r"--json\s+Print JSON", json_row), json_row
    assert re.search(r"--status\s+STATUS\s", shown)
    assert re.search(r"--limit\s+N\s", shown)
    usage = help_of(("case", "complete"))
    assert "case complete [OPTIONS] CASE TASK" in usage
    assert re.search(r"--field\s+LABEL=VALUE\s", usage)


def test_an_option_without_its_own_metavar_is_named_after_its_type():
    shown = help_of(("definitions", "validate"))
    assert re.search(r"--directory\s+PATH\s", shown)
    assert "validate [OPTIONS] [DIRECTORY]" in shown


def test_version_prints_the_installed_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"support-provision {version('support-provision')}\n"


def test_a_command_s_later_paragraphs_are_wrapped_by_the_terminal_not_the_source():
    # The docstring wraps at "would pile / up"; at 200 columns the paragraph is one line.
    shown = help_of(("definitions", "validate"))
    assert "occurrences that would pile up) are printed too" in shown
