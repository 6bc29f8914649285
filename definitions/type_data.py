"""Reading a provision type whether it is a model or the raw mapping of its YAML file.

The rules of a type (`definitions.invariants`) and the references it makes
(`definitions.references`) are checked on both: on models, because every construction
must meet them; on raw data, because a type with one malformed task still deserves to
hear about the mistakes in the others. These helpers make the two read alike and never
fail on a value of the wrong shape: it is simply not there for the check that wanted it
(the schema reports the shape). A list is read no further than its limit
(`limits.LIST_LENGTHS`), so raw data costs the checks no more than a valid type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from .limits import LIST_LENGTHS

__all__ = ["actions", "entries", "get", "values"]


def get(node: Any, key: str) -> Any:
    """``key`` of a model or a mapping; None when absent or when ``node`` is neither."""
    if isinstance(node, BaseModel):
        return getattr(node, key, None)
    if isinstance(node, Mapping):
        return node.get(key)
    return None


def values(node: Any, key: str) -> list[Any]:
    """The list at ``key`` (a YAML list or a model's tuple), up to its limit; empty when
    it is not a list."""
    found = get(node, key)
    if not isinstance(found, list | tuple):
        return []
    return list(found[: LIST_LENGTHS.get(key, len(found))])


def entries(node: Any, key: str) -> list[tuple[int, Any]]:
    """The mappings (or models) in the list at ``key``, with their indexes in it."""
    return [
        (index, item)
        for index, item in enumerate(values(node, key))
        if isinstance(item, BaseModel | Mapping)
    ]


def actions(provision_type: Any) -> Iterator[tuple[str, Any]]:
    """Each escalation rule of a type and its tasks, each of their follow-on rules, and the
    communication step of each path (`sends`), with where it is (``tasks[0].escalations[1]``):
    each names a template and whom it notifies."""
    yield from _rules(provision_type, "escalations", "escalations")
    for index, task in entries(provision_type, "tasks"):
        yield from _rules(task, "escalations", f"tasks[{index}].escalations")
        for k, path in entries(task, "paths"):
            sends = get(path, "sends")
            if isinstance(sends, BaseModel | Mapping):
                yield f"tasks[{index}].paths[{k}].sends", sends


def _rules(owner: Any, key: str, where: str) -> Iterator[tuple[str, Any]]:
    for index, rule in entries(owner, key):
        at = f"{where}[{index}]"
        yield at, rule
        yield from _rules(rule, "follow_on", f"{at}.follow_on")
