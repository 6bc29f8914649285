"""`python -m bench [all|rate|open|history|lag|long|recurrence|faults|codec] [options]`: run,
print, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import (
    codec,
    faults,
    history,
    lag,
    long,
    long_core,
    long_report,
    open_cases,
    quiet,
    rate,
    recurrence,
)
from .env import bench_environment, bounded, progress
from .stats import load_average, machine

RESULTS = Path(__file__).parent / "results" / "latest.json"
STEADY_ARRIVAL = 10.0
"""Cases a second of the steady-arrival lag run that `all` makes beside the burst."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=("all", "rate", "open", "history", "lag", "long", "recurrence", "codec"),
    )
    parser.add_argument(
        "--quick", action="store_true", help="rate and open: small sizes, a check in a minute"
    )
    parser.add_argument("--rate-cases", type=int, default=300, help="rate: cases of each kind")
    parser.add_argument("--rate-concurrency", type=int, default=50, help="rate: cases in flight")
    parser.add_argument("--rounds", type=int, default=3, help="rate: interleaved rounds")
    parser.add_argument("--profile", type=Path, help="rate: write the case worker's cProfile here")
    parser.add_argument(
        "--counts", default=",".join(map(str, open_cases.COUNTS)), help="open: open-case counts"
    )
    parser.add_argument(
        "--worker-memory",
        default="",
        help="open: the case worker's memory budget (SUPPORT_PROVISION_WORKER_MEMORY)",
    )
    parser.add_argument("--sizes", default="5,20,50", help="history: task counts (default 5,20,50)")
    parser.add_argument("--repeat", type=int, default=3, help="history: cases per size and kind")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="history: send the updates back to back instead of each on an idle case",
    )
    parser.add_argument("--cases", type=int, default=1000, help="lag: open cases (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="lag: starts in flight")
    parser.add_argument(
        "--arrival",
        type=float,
        default=0.0,
        help="lag: cases started a second (default 0: all at once); `all` runs both, "
        f"a burst and {STEADY_ARRIVAL:g} a second",
    )
    parser.add_argument(
        "--baseline-samples", type=int, default=3, help="lag: solo cases for the baseline"
    )
    parser.add_argument(
        "--grace", type=float, default=180.0, help="lag: wait after the last start + 60s"
    )
    parser.add_argument(
        "--requests", type=int, default=long.REQUESTS, help="long: requests to the busy case"
    )
    parser.add_argument(
        "--updates", type=int, default=codec.UPDATES, help="codec: updates to each case"
    )
    parser.add_argument(
        "--samples", type=int, default=long.SAMPLES, help="long: evictions of each workflow"
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"long: the case model at {long_core.LARGE:,} task instances too",
    )
    parser.add_argument(
        "--deadline", type=float, default=3600.0, help="stop everything after this many seconds"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results ({RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    args.sizes = tuple(int(x) for x in args.sizes.split(","))
    args.counts = tuple(int(x) for x in args.counts.split(","))
    if args.quick:
        args.rate_cases, args.rounds, args.counts = 60, 2, (100, 300)
    if min(args.cases, args.concurrency, args.baseline_samples, args.repeat, args.samples) < 1:
        parser.error(
            "--cases, --concurrency, --baseline-samples, --repeat and --samples must be >= 1"
        )
    if args.requests < 2 or args.updates < 4:
        parser.error("--requests must be >= 2 and --updates >= 4")
    return args


async def _lag(
    bench: Any, args: argparse.Namespace, warnings: Any, began: float, arrival: float
) -> dict[str, Any]:
    """The lag benchmark at `arrival` cases a second (0: a burst), reported as it ends."""
    seen = Counter(warnings.counts)
    found = await lag.run(
        bench,
        count=args.cases,
        concurrency=args.concurrency,
        baseline_samples=args.baseline_samples,
        grace=args.grace,
        deadline=max(60.0, args.deadline - (time.perf_counter() - began) - 120),
        arrival=arrival,
    )
    found["worker_warnings"] = dict(warnings.counts - seen)
    _print(lag.report(found))
    _print([f"  worker warnings: {found['worker_warnings'] or 'none'}"])
    return found


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    results: dict[str, Any] = {
        "run": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "load_average_before": load_average(),
            "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        }
    }
    warnings = quiet.install()
    core = long.core(args.large) if args.which in ("all", "long") else None
    async with bench_environment(keep=args.keep) as bench:
        if args.which in ("all", "rate"):
            results["rate"] = await rate.run(
                bench, args.rate_cases, args.rate_concurrency, args.rounds, args.profile
            )
            _print(rate.report(results["rate"]))
        if args.which in ("all", "open"):
            results["open"] = await open_cases.run(
                bench, args.counts, args.concurrency, args.worker_memory
            )
            _print(open_cases.report(results["open"]))
        if args.which in ("all", "history"):
            seen = Counter(warnings.counts)
            results["history"] = await history.run(bench, args.sizes, args.repeat, args.burst)
            results["history"]["worker_warnings"] = dict(warnings.counts - seen)
            _print(history.report(results["history"]))
        if args.which in ("all", "lag"):
            results["lag"] = await _lag(bench, args, warnings, began, args.arrival)
        if args.which == "all":  # and under steady arrival, beside the burst
            results["lag_steady"] = await _lag(bench, args, warnings, began, STEADY_ARRIVAL)
        if core is not None:
            seen = Counter(warnings.counts)
            results["long"] = await long.run(bench, core, args.requests, args.samples)
            results["long"]["worker_warnings"] = dict(warnings.counts - seen)
            _print(long_report.report(results["long"]))
            _print([f"  worker warnings: {results['long']['worker_warnings'] or 'none'}"])
        if args.which in ("all", "recurrence"):
            seen = Counter(warnings.counts)
            results["recurrence"] = await recurrence.run(bench)
            results["recurrence"]["worker_warnings"] = dict(warnings.counts - seen)
            _print(recurrence.report(results["recurrence"]))
        if args.which in ("all", "codec"):
            seen = Counter(warnings.counts)
            results["codec"] = await codec.run(bench, args.updates)
            results["codec"]["worker_warnings"] = dict(warnings.counts - seen)
            _print(codec.report(results["codec"]))
    results["run"]["load_average_after"] = load_average()
    results["run"]["seconds"] = round(time.perf_counter() - began, 1)
    return results


def _print(lines: list[str]) -> None:
    print("\n" + "\n".join(lines), flush=True)


def _clean(value: Any) -> Any:
    """JSON without NaN (null instead)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


async def main(argv: list[str]) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    if argv[:1] == ["faults"]:  # a harness of its own: processes to break, not one worker
        return await faults.main(argv[1:])
    args = parse(argv)
    try:
        results = await bounded("the whole run", run(args), args.deadline)
    except TimeoutError as error:
        progress(f"stopped: {error}")
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_clean(results), indent=2, default=str) + "\n", encoding="utf-8")
    progress(f"wrote {args.out} ({results['run']['seconds']:.0f}s in all)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(sys.argv[1:])))
    except KeyboardInterrupt:
        progress("interrupted; cleaned up")
        sys.exit(130)
    except asyncio.CancelledError:  # SIGTERM
        progress("terminated; cleaned up")
        sys.exit(143)
