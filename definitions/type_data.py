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

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from .limits import LIST_LENGTHS

__all__ = ["entries", "get", "values"]


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
