"""Reading the YAML files of the definitions in bounded time and memory.

A definitions file is refused, with the line where it went wrong, when it is larger than
`limits.FILE_BYTES`, nests deeper than `limits.YAML_DEPTH`, or holds more than
`limits.YAML_VALUES` values once its aliases are expanded ("billion laughs": a few lines
whose aliases repeat each other a billion times), or when an alias names a value that
contains it. Each check runs while the file is composed, before any Python object is
built, so a hostile file costs no more than its own size; and everything later (pydantic,
the loader's checks) only ever sees a finite, shallow, acyclic structure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent

from . import limits

__all__ = ["BoundedLoader", "DefinitionFileRefused", "read_definition_text"]


class DefinitionFileRefused(Exception):
    """A definitions file too large or too complex to read; ``line`` is where, if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


def read_definition_text(path: Path) -> str:
    """The UTF-8 text of ``path``, refused unread beyond `limits.FILE_BYTES`.

    Raises `DefinitionFileRefused`, `OSError` or `UnicodeDecodeError`.
    """
    with path.open("rb") as stream:
        # Read one byte past the limit: a special file may not say its size.
        data = stream.read(limits.FILE_BYTES + 1)
    if len(data) > limits.FILE_BYTES:
        size = path.stat().st_size
        actual = f" ({size:,} bytes)" if size > limits.FILE_BYTES else ""
        raise DefinitionFileRefused(
            f"is larger than a definitions file may be{actual}: the limit is "
            f"{limits.FILE_BYTES:,} bytes (1 MiB); shorten its texts or split it"
        )
    return data.decode("utf-8")


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting, alias bombs and self-containing aliases,
    and leaving dates as text: the schema reads them, and reports a day that is not one
    (``2026-02-30``) at its field, beside the file's other problems. PyYAML itself fails
    on it, without saying where, and the file could not be read at all."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        # Expanded size of each composed node, by id: an alias counts as a copy of its node.
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # its anchor is still being composed
                raise DefinitionFileRefused(
                    f"the alias *{event.anchor} names a value that contains it, so that value "
                    "would never end; remove the alias",
                    event.start_mark.line + 1,
                )
            return node
        start = self.peek_event().start_mark
        self._depth += 1
        try:
            if self._depth > limits.YAML_DEPTH:
                raise DefinitionFileRefused(
                    f"mappings and lists are nested more than {limits.YAML_DEPTH} levels deep "
                    "here; a definition needs far fewer, so check the brackets and indentation",
                    start.line + 1,
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1 + sum([self._sizes[id(child)] for child in _children(node)], 0)
        if size > limits.YAML_VALUES:
            raise DefinitionFileRefused(
                f"this value holds more than {limits.YAML_VALUES:,} values, counting each "
                "*alias as a copy of what it names; a definition needs far fewer, so remove "
                "the aliases that repeat it",
                start.line + 1,
            )
        self._sizes[id(node)] = size
        return node


BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _children(node: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
