"""Small helpers: history events by type, percentiles, the machine a run was made on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent


def event_name(event: HistoryEvent) -> str:
    """`EVENT_TYPE_TIMER_STARTED` -> `TimerStarted`."""
    raw = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in raw.split("_"))


def event_time(event: HistoryEvent) -> dt.datetime:
    return event.event_time.ToDatetime(tzinfo=dt.UTC)


def count_by_type(events: Iterable[HistoryEvent]) -> dict[str, int]:
    return dict(sorted(Counter(event_name(e) for e in events).items()))


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), p in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
        "min": min(values) if values else float("nan"),
    }


def ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = re.findall(r"^model name\s*:\s*(.+)$", info.read(), re.MULTILINE)
        if names:
            cpu = names[0]
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kb = int(re.search(r"MemTotal:\s+(\d+)", info.read()).group(1))  # type: ignore[union-attr]
            memory = round(kb / 1024 / 1024, 1)
    except (OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporalio": _version("temporalio"),
        "temporal_cli": _cli_version(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _cli_version() -> str | None:
    from starter.binaries import temporal_cli

    try:
        out = subprocess.run(
            [temporal_cli(), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
        return out.stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None
