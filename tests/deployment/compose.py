"""docker-compose.yml as Compose reads it: parsed, checked against the compose-spec schema,
and interpolated, so the tests judge (and run) what `docker compose up` would."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")

# `$$`, `$NAME`, or `${NAME}` with an optional `:-`, `-`, `:?` or `?` and its word.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?])(?P<word>[^}]*))?\})"
)


class MissingVariable(ValueError):
    """A `${NAME:?message}` whose variable is unset: Compose refuses to start."""


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file as YAML gives it: anchors and merge keys resolved, nothing interpolated."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_errors(document: Mapping[str, Any]) -> list[str]:
    """Where and how the document breaks the Compose format; empty when it is valid."""
    validator = jsonschema.Draft7Validator(schema())
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with every variable replaced as Compose replaces it from `env`."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    name = match["bare"] or match["name"]
    operator, word = match["operator"], match["word"] or ""
    present = name in env
    value = env.get(name, "")
    if operator in (":-", "-"):
        unset = not value if operator == ":-" else not present
        return word if unset else value
    if operator in (":?", "?"):
        unset = not value if operator == ":?" else not present
        if unset:
            raise MissingVariable(f"{name}: {word}")
    return value


def services(env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The services, interpolated from `env` when it is given."""
    document = load()
    found = document["services"] if env is None else interpolate(document, env)["services"]
    return dict(found)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever form the file writes it in."""
    value = service.get("environment") or {}
    if isinstance(value, list):
        pairs = (item.split("=", 1) for item in value)
        return {key: rest[0] if rest else "" for key, *rest in pairs}
    return {key: "" if item is None else str(item) for key, item in value.items()}
