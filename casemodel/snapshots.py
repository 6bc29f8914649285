"""One parsed copy of a provision type, its checks and its calendar for every case that
carries the same type.

Each case carries its type's snapshot in its start input (and in what it carries into its
next run). Read on its own, each case held a parsed copy (some 44 KiB for a type of five
tasks with SLAs and rules, and 5 ms to read), checked it again and built its calendar
again: a worker with thousands of cases open held thousands of equal copies. The parsed
type is immutable (frozen models, tuples), so cases that carry the same bytes can share
one: the first case to read a type parses it, the others get that one object.

Sharing changes nothing a case computes: the object a case gets is the one it would have
parsed itself, whichever case parsed it first, so a case replays the same with or without
the others. The workers' sandbox passes the case model through (one module for every case),
which is what lets the copy be shared; the cache is bounded, and a type that falls out of
it stays with the cases that hold it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import WrapValidator

from definitions.invariants import TypeProblem, check_provision_type
from definitions.schema import ProvisionType

from .calendars import Calendar, calendar_for

K = TypeVar("K")
V = TypeVar("V")

TYPES_KEPT = 512
"""Distinct types kept for sharing: far more than a catalog's types and versions."""

_lock = threading.Lock()  # workflow tasks of different cases run on different threads
_types: OrderedDict[bytes, ProvisionType] = OrderedDict()
_by_id: dict[int, ProvisionType] = {}
"""The shared types by id: what the checks and calendars below are kept for (an id is the
type's for as long as `_types` holds it)."""
_problems: dict[int, list[TypeProblem]] = {}
_calendars: dict[tuple[int, bool], Calendar] = {}


def _shared(value: Any, parse: Callable[[Any], ProvisionType]) -> ProvisionType:
    """Pydantic's reading of a provision type, shared by equal snapshots read as JSON."""
    if isinstance(value, ProvisionType):
        with _lock:
            if _by_id.get(id(value)) is value:
                return value  # a shared type, read (and checked) already
    if not isinstance(value, dict):
        return parse(value)  # an object built in code, not a snapshot read: as it is
    key = _digest(value)
    with _lock:
        found = _types.get(key)
        if found is not None:
            _types.move_to_end(key)
            return found
    parsed = parse(value)  # refused as it would be unshared: nothing is kept then
    with _lock:
        found = _types.setdefault(key, parsed)
        _by_id[id(found)] = found
        _types.move_to_end(key)
        while len(_types) > TYPES_KEPT:
            _, dropped = _types.popitem(last=False)
            _forget(dropped)
    return found


SharedProvisionType = Annotated[ProvisionType, WrapValidator(_shared)]
"""A `ProvisionType` field whose snapshot, read from JSON, is shared with every case that
carries the same one."""


def problems(provision_type: ProvisionType) -> list[TypeProblem]:
    """`check_provision_type` of a type, checked once for a shared one."""
    found: list[TypeProblem] = _kept(
        provision_type, _problems, id(provision_type), lambda: check_provision_type(provision_type)
    )
    return list(found)  # a copy: the kept list is every case's


def calendar(provision_type: ProvisionType, *, weeks_move_to_opening: bool) -> Calendar:
    """`calendar_for` the type's calendar, built once for a shared type. A calendar holds
    only what its definition says and what it has worked out from it (bank holidays by
    year), the same for every case that asks."""
    return _kept(
        provision_type,
        _calendars,
        (id(provision_type), weeks_move_to_opening),
        lambda: calendar_for(
            provision_type.resolved_calendar, weeks_move_to_opening=weeks_move_to_opening
        ),
    )


def _kept(provision_type: ProvisionType, store: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """What `make` gives for `provision_type`, kept in `store` under `key` while the type is
    shared (made outside the lock; the first one kept wins), made afresh for any other."""
    with _lock:
        shared = _by_id.get(id(provision_type)) is provision_type
        found = store.get(key) if shared else None
    if found is None:
        found = make()
        if shared:
            with _lock:
                if _by_id.get(id(provision_type)) is provision_type:
                    found = store.setdefault(key, found)
    return found


def kept() -> int:
    """How many distinct types are shared now (for tests and the benchmarks)."""
    with _lock:
        return len(_types)


def _forget(dropped: ProvisionType) -> None:
    _by_id.pop(id(dropped), None)
    _problems.pop(id(dropped), None)
    for weeks in (True, False):
        _calendars.pop((id(dropped), weeks), None)


def _digest(value: dict[str, Any]) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=20).digest()
