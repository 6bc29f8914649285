"""How many cases a worker keeps cached, from the memory it may use.

A cached case answers at once; an evicted one is rebuilt from its history first. The
SDK's default (1,000 cached workflows) says nothing about memory: a worker with more open
cases than that replays all the time, one with less memory than 1,000 cases take runs out
of it. So the cache is sized from a memory budget (`SUPPORT_PROVISION_WORKER_MEMORY`, by
default half of what this machine or container has, at most 3 GiB: 10,000 cases of five
tasks cached) and what a cached case
was measured to take (`bench open`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MEMORY_ENV = "SUPPORT_PROVISION_WORKER_MEMORY"
DEFAULT_CAP = 3 * 1024**3
WORKER_BASE = 256 * 1024**2
"""What a worker takes before it caches a case: the interpreter, the SDK, our modules,
the database driver, with room for activities in flight."""
CACHED_CASE = 192 * 1024
"""Bytes one cached case takes (`python -m bench open`: 171-187 KiB for a 5-task case with
SLAs and rules at 1,000 to 10,000 open, 2026-12-01, since cases share their type's parsed
snapshot; rounded up)."""
FLOOR = 100
"""Fewer cached cases than this and every request would replay: the least we cache."""
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2}
_UNITS |= {"mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


class MemoryBudgetInvalid(ValueError):
    """The memory budget is not a size we read."""


@dataclass(frozen=True)
class CacheBudget:
    memory: int
    """Bytes the worker may use."""
    source: str
    """Where the budget came from, for the log line."""

    @property
    def cached_cases(self) -> int:
        return max(FLOOR, (self.memory - WORKER_BASE) // CACHED_CASE)

    def describe(self) -> str:
        return (
            f"caching up to {self.cached_cases:,} cases in a memory budget of "
            f"{self.memory / 1024**2:,.0f} MiB ({self.source}; "
            f"{CACHED_CASE // 1024} KiB a cached case)"
        )


def parse_size(text: str) -> int:
    """`2GiB`, `512 MiB`, `1.5GB`, `800000000` -> bytes."""
    found = _SIZE.match(text.lower())
    if not found or found.group(2) not in _UNITS:
        raise MemoryBudgetInvalid(
            f"{MEMORY_ENV}={text!r} is not a size: write it like 2GiB, 512MiB or 1500000000."
        )
    return int(float(found.group(1)) * _UNITS[found.group(2)])


def available_memory() -> int | None:
    """The container's memory limit (cgroup v2 or v1), else the machine's memory."""
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # "max" or a huge v1 value: no limit
            return int(text)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cache_budget(environ: dict[str, str] | None = None) -> CacheBudget:
    """The budget from `SUPPORT_PROVISION_WORKER_MEMORY`, else half the memory there is,
    at most 3 GiB."""
    text = (os.environ if environ is None else environ).get(MEMORY_ENV, "").strip()
    if text:
        return CacheBudget(parse_size(text), MEMORY_ENV)
    there = available_memory()
    if there is None:
        return CacheBudget(DEFAULT_CAP, "default")
    return CacheBudget(min(DEFAULT_CAP, there // 2), "half the memory there is, at most 3 GiB")
