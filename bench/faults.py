"""`python -m bench faults`: open cases, break one part, and count what reached people.

For each scenario (`bench.faults_drills`): a fresh worker process, N cases opened, the
fault injected while their escalations fire, then a wait (with a deadline) until every
notification expected has been delivered and no case has a notice on its way. Figures:

* **expected**: notifications the cases' firings call for (each firing's recipients
  resolved against the directory); **recorded**: outbox rows of those cases; **delivered**:
  expected messages the SMTP sink received at least once (by Message-ID);
* **duplicates**: extra copies, and how many lie inside the documented window (a worker
  killed after the server took the message and before `sent` was committed: at most two
  extra copies, `RESEND_LIMIT`, and every copy counted in the row's `attempts`), and how
  many came from the worker that sent the copy before (no kill between them: a retry
  beside a live attempt, which the outbox's lease is there to stop); **lost**: expected, never
  delivered; **stuck**: cases still missing a firing, holding a notice on its way, an
  outbox row not final or a register row behind the case at the deadline; **wft
  failures**: `WorkflowTaskFailed` events;
* **lateness**: first delivery − the firing's due point, p50/p99; **resumed**: from the
  end of the fault to the first message delivered after it (the worker working again);
  **recovery**: from the end of the fault until the last notification that fell due
  before it ended was delivered (the backlog gone); **register**: from the end of the
  fault until the case register (`cases.last_seq`) had caught up with every case's own
  log (`state.last_seq`): what `case list` and the worklist read; **settled**: until
  everything expected was delivered, nothing was on its way and the register had caught up;
* what the worker logged (tracebacks, warnings) and the activity failure messages the
  cases showed while the fault lasted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from temporalio.client import Client

from activities.contracts import Recipients
from activities.database.engine import create_engine, reading, session_factory
from activities.database.notifications import RESEND_LIMIT
from activities.notifications import message_id
from activities.recipients import fired_on, resolve_recipients
from casemodel.escalation import action_at
from casemodel.state import CaseState
from definitions.schema import ProvisionType
from starter.client import CaseClient
from starter.settings import Settings

from .env import progress
from .faults_drills import FULL, SCENARIOS, SHORT, Plan, inject
from .faults_world import HERE, TASK_QUEUE, World, world
from .stats import event_name, load_average, percentile

DOMAIN = "northfield.example"
FINAL = ("sent", "failed", "recorded", "uncertain")
SAMPLE_CASES = 5
REPO = HERE


@dataclass
class Batch:
    """The cases of one scenario and what is known of them."""

    scenario: str
    refs: list[str]
    opened: float = 0.0
    fault: dict[str, float] = field(default_factory=dict)
    failures_seen: Counter[str] = field(default_factory=Counter)
    complete: dict[str, CaseState] = field(default_factory=dict)
    queries: int = 0  # state queries the harness put to the worker after the fault
    """Cases with every firing in: what they call for is known and stays so, so the
    harness stops asking their worker (every query is work the worker under test does)."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench faults", description=__doc__)
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--cases", type=int, default=None, help="cases per scenario (50; 3 short)")
    parser.add_argument("--short", action="store_true", help="brief faults on a quick type")
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose worker runs")
    parser.add_argument(
        "--fault-for", type=float, default=None, help="seconds each chosen fault lasts"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "faults.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


async def run(
    *,
    scenarios: tuple[str, ...] = SCENARIOS,
    cases: int = 50,
    short: bool = False,
    code: Path = REPO,
    seed: int = 11,
    keep: bool = False,
    fault_for: float | None = None,
) -> dict[str, Any]:
    """Every scenario in one world, one after the other; figures by scenario.
    `fault_for` makes each of them last that long (a longer outage than the plan's)."""
    plan = SHORT if short else FULL
    if fault_for is not None:
        plan = plan.lasting(scenarios, fault_for)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="support-provision-faults-"))
    results: dict[str, Any] = {
        "run": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": str(code),
            "short": short,
            "cases": cases,
            "seed": seed,
            "load_average_before": load_average(),
        },
        "scenarios": {},
    }
    began = time.monotonic()
    try:
        async with world(code.resolve(), workdir) as here:
            results["run"]["worker"] = here.checkout.describe()
            engine = create_engine(here.reference_url)  # whom firings reach, as resolved
            here.start_worker()
            await here.worker_polling()
            try:
                for scenario in scenarios:
                    results["scenarios"][scenario] = await drill(
                        here, engine, scenario, plan, cases, rng
                    )
            finally:
                await engine.dispose()
    finally:
        if keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["run"]["seconds"] = round(time.monotonic() - began, 1)
    results["run"]["load_average_after"] = load_average()
    return results


async def drill(
    here: World, engine: Any, scenario: str, plan: Plan, count: int, rng: random.Random
) -> dict[str, Any]:
    assert here.client is not None
    provision_type = plan.provision_type()
    marks = {path: path.stat().st_size for path in here.worker_logs()}
    batch = Batch(scenario, [f"FD-{scenario.upper()}-{i:03d}" for i in range(count)])
    cases = CaseClient(here.client, Settings(task_queue=TASK_QUEUE))
    await open_cases(cases, provision_type, batch.refs)
    batch.opened = time.time()
    progress(f"{scenario}: {count} cases opened")
    await asyncio.sleep(plan.fault_after)

    async def sample() -> None:
        await sample_failures(here.client, batch)  # type: ignore[arg-type]

    batch.fault = await inject(here, scenario, plan, rng, sample)
    # The harness's client may have lost the server: a fresh one after a restart.
    if scenario == "server":
        here.client = await here.connect()
        cases = CaseClient(here.client, Settings(task_queue=TASK_QUEUE))
    sessions = session_factory(engine)
    deadline = batch.fault["ended"] + plan.settle
    figures: dict[str, Any] = {}
    recovered_at: float | None = None
    register_at: float | None = None
    polls = 0
    while True:
        polls += 1
        figures = await measure(here, cases, sessions, provision_type, plan, batch)
        if register_at is None and figures["register_behind"] == 0:
            register_at = figures["settled_at"]
        if figures["settled"]:
            recovered_at = figures["settled_at"]
            break
        if time.time() > deadline:
            break
        await asyncio.sleep(0.5)
    figures["settled_s"] = (
        round(max(0.0, recovered_at - batch.fault["ended"]), 1) if recovered_at else None
    )
    figures["register_s"] = (
        round(max(0.0, register_at - batch.fault["ended"]), 1) if register_at else None
    )
    figures["workflow_task_failures"] = await workflow_task_failures(here.client, batch.refs)
    figures["fault_s"] = round(batch.fault["ended"] - batch.fault["began"], 1)
    figures["kills"] = int(batch.fault["kills"])
    figures["harness_polls"] = polls
    figures["harness_queries"] = batch.queries
    figures["failure_messages"] = dict(batch.failures_seen.most_common(5))
    figures.update(log_noise(here.worker_logs(), marks))
    progress(f"{scenario}: {row(scenario, figures)}")
    return figures


async def open_cases(cases: CaseClient, provision_type: ProvisionType, refs: list[str]) -> None:
    gate = asyncio.Semaphore(10)

    async def one(ref: str) -> None:
        async with gate:
            await cases.start_case(provision_type, tenant_ref="TEN-00042", case_ref=ref)

    await asyncio.gather(*(one(ref) for ref in refs))


async def sample_failures(client: Client, batch: Batch) -> None:
    """The last failure of each pending activity of a few cases, as Temporal holds it."""
    for ref in batch.refs[:SAMPLE_CASES]:
        try:
            description = await client.get_workflow_handle(f"case-{ref}").describe(
                rpc_timeout=timedelta(seconds=1)
            )
        except Exception:  # noqa: BLE001 - the server may be the part that is down
            return
        for pending in description.raw_description.pending_activities:
            if pending.HasField("last_failure") and pending.last_failure.message:
                batch.failures_seen[
                    f"{pending.activity_type.name}: {(await opened(client, pending))[:160]}"
                ] += 1


async def opened(client: Client, pending: Any) -> str:
    """A pending activity's last failure message as a person reads it in the UI: opened
    through the codec (the worker seals failures, so Temporal itself holds "Encoded
    failure")."""
    failure = await client.data_converter.decode_failure(pending.last_failure)
    message = str(getattr(failure, "message", "") or pending.last_failure.message)
    # "notify FD-KILL-003/…#1: <reason>": the same reason for every case counts once.
    return re.sub(r"^(\w+) \S+: ", r"\1 …: ", message)


async def measure(
    here: World,
    cases: CaseClient,
    sessions: Any,
    provision_type: ProvisionType,
    plan: Plan,
    batch: Batch,
) -> dict[str, Any]:
    states: list[CaseState] = []
    for ref in batch.refs:
        if ref in batch.complete:
            states.append(batch.complete[ref])
            continue
        try:
            batch.queries += 1
            state = await cases.state(ref)
        except Exception:  # noqa: BLE001 - a case not answering counts as stuck
            continue
        states.append(state)
        if len(state.firings) >= plan.firings_per_case:
            batch.complete[ref] = state
    expected: dict[str, tuple[str, float]] = {}  # message id -> (case, due point)
    async with sessions() as session:
        for state in states:
            for firing in state.firings:
                for address in await recipients_of(session, provision_type, state, firing):
                    key = f"{firing.key}:{address.lower()}"
                    expected[message_id(key, DOMAIN)] = (state.case_ref, firing.due_at.timestamp())
    rows = await outbox_rows(here, batch)
    deliveries = [d for d in here.sink.received() if d.message_id in expected]
    copies = Counter(d.message_id for d in deliveries)
    first: dict[str, float] = {}
    for d in deliveries:
        first.setdefault(d.message_id, d.at)
    by_id = {message_id(r["idempotency_key"], DOMAIN): r for r in rows}
    duplicates = {mid: n - 1 for mid, n in copies.items() if n > 1}
    in_window = sum(
        extra
        for mid, extra in duplicates.items()
        if batch.scenario == "kill"
        and extra <= RESEND_LIMIT
        and by_id.get(mid, {}).get("attempts", 0) > extra
    )
    # A copy with no kill since the copy before came from the same worker: a retry that
    # ran beside a live attempt, not one that followed a killed one.
    arrivals: dict[str, list[float]] = {}
    for d in deliveries:
        arrivals.setdefault(d.message_id, []).append(d.at)
    beside = sum(
        1
        for times in arrivals.values()
        for before, after in zip(sorted(times), sorted(times)[1:], strict=False)
        if not any(before < k < after for k in here.kills)
    )
    lateness = [first[mid] - due for mid, (_, due) in expected.items() if mid in first]
    ended = batch.fault["ended"]
    # The backlog of the fault: what fell due before it ended, delivered how long after.
    backlog = [first.get(mid) for mid, (_, due) in expected.items() if due <= ended]
    # How soon anything got through again: the worker's own recovery, before the backlog.
    resumed = min((d.at for d in deliveries if d.at >= ended), default=None)
    busy = await cases_with_notices_on_their_way(cases, batch.refs)
    short_of_firings = {s.case_ref for s in states if len(s.firings) < plan.firings_per_case}
    unanswered = set(batch.refs) - {s.case_ref for s in states}
    not_final = {r["case_ref"] for r in rows if r["status"] not in FINAL}
    registered = await register_positions(here, batch)
    register_behind = {s.case_ref for s in states if registered.get(s.case_ref, 0) < s.last_seq}
    lost = [mid for mid in expected if mid not in copies]
    stuck = short_of_firings | unanswered | not_final | busy | register_behind
    expected_total = len(batch.refs) * expected_per_case(expected, states, plan)
    settled = not stuck and not lost and len(expected) == expected_total
    return {
        "expected": expected_total,
        "recorded": len(rows),
        "statuses": dict(Counter(r["status"] for r in rows)),
        "attempts": sum(r["attempts"] for r in rows),
        "delivered": len(copies),
        "messages": sum(copies.values()),
        "duplicates": sum(duplicates.values()),
        "duplicates_in_window": in_window,
        "duplicates_beside_live": beside,
        "lost": expected_total - len(copies),
        "stuck": len(stuck),
        "lateness_p50_s": round(percentile(lateness, 50), 1) if lateness else None,
        "lateness_p99_s": round(percentile(lateness, 99), 1) if lateness else None,
        "recovery_s": (
            round(max(0.0, max(backlog, default=ended) - ended), 1)  # type: ignore[type-var]
            if None not in backlog
            else None
        ),
        "resumed_s": round(resumed - ended, 1) if resumed is not None else None,
        "register_behind": len(register_behind),
        "settled": settled,
        "settled_at": time.time(),
    }


def expected_per_case(
    expected: dict[str, tuple[str, float]], states: list[CaseState], plan: Plan
) -> int:
    """Notifications a case calls for once all its firings are in: the most any case of
    the batch has, taken when that case has every firing (cases are alike)."""
    per_case = Counter(case for case, _ in expected.values())
    complete = [per_case[s.case_ref] for s in states if len(s.firings) >= plan.firings_per_case]
    return max(complete, default=max(per_case.values(), default=0))


_RECIPIENTS: dict[tuple[str, str, str], list[str]] = {}


async def recipients_of(
    session: Any, provision_type: ProvisionType, state: CaseState, firing: Any
) -> list[str]:
    """The addresses a firing should reach, resolved as the activity does."""
    cache = (firing.rule, state.owner, str(fired_on(firing.fired_at)))
    if cache not in _RECIPIENTS:
        lists = [provision_type.escalations, *(t.escalations for t in provision_type.tasks)]
        action = next((a for rules in lists if (a := action_at(rules, firing.rule))), None)
        if action is None:
            return []
        notify = action.notify
        wanted = Recipients(
            owner=notify.owner,
            owner_manager=notify.owner_manager,
            groups=list(notify.groups),
            addresses=list(notify.addresses),
        )
        resolution = await resolve_recipients(
            session, wanted, state.owner, on=fired_on(firing.fired_at)
        )
        _RECIPIENTS[cache] = [r.email for r in resolution.recipients if r.email]
    return _RECIPIENTS[cache]


async def outbox_rows(here: World, batch: Batch) -> list[dict[str, Any]]:
    return await _rows_of(
        here, batch, "SELECT idempotency_key, case_ref, status, attempts FROM notifications"
    )


async def register_positions(here: World, batch: Batch) -> dict[str, int]:
    """The log position each case's register row reflects (none yet: not there)."""
    rows = await _rows_of(here, batch, "SELECT case_ref, last_seq FROM cases")
    return {r["case_ref"]: int(r["last_seq"]) for r in rows}


async def _rows_of(here: World, batch: Batch, select: str) -> list[dict[str, Any]]:
    """What `select` finds of the batch's cases, without taking the write lock; nothing
    from a database that cannot be read (nothing is known of it yet)."""
    engine = create_engine(here.db_url)
    try:
        async with reading(engine).connect() as connection:
            found = await connection.execute(
                text(f"{select} WHERE case_ref LIKE :prefix"),
                {"prefix": f"FD-{batch.scenario.upper()}-%"},
            )
            return [dict(r._mapping) for r in found]
    except Exception:  # noqa: BLE001 - a database that cannot be read: nothing known yet
        return []
    finally:
        await engine.dispose()


async def cases_with_notices_on_their_way(cases: CaseClient, refs: list[str]) -> set[str]:
    busy = set()
    for ref in refs:
        try:
            description = await cases.client.get_workflow_handle(f"case-{ref}").describe()
        except Exception:  # noqa: BLE001
            busy.add(ref)
            continue
        if any(
            p.activity_type.name == "notify_escalation"
            for p in description.raw_description.pending_activities
        ):
            busy.add(ref)
    return busy


async def workflow_task_failures(client: Client, refs: list[str]) -> int:
    failed = 0
    for ref in refs:
        history = await client.get_workflow_handle(f"case-{ref}").fetch_history()
        failed += sum(1 for e in history.events if event_name(e) == "WorkflowTaskFailed")
    return failed


def log_noise(logs: list[Path], marks: dict[Path, int]) -> dict[str, int]:
    """Tracebacks and warning lines the worker processes wrote during a scenario (past
    where each log stood at its start)."""
    tracebacks = warnings = too_large = 0
    for path in logs:
        with path.open("rb") as log:
            log.seek(marks.get(path, 0))
            written = log.read().decode(errors="replace")
        for line in written.splitlines():
            tracebacks += line.startswith("Traceback (most recent call last)")
            warnings += " WARNING " in line
            too_large += "exceeds size limit" in line
    return {"log_tracebacks": tracebacks, "log_warnings": warnings, "log_size_limit": too_large}


COLUMNS = (
    ("scenario", 9),
    ("fault_s", 7),
    ("expected", 8),
    ("recorded", 8),
    ("delivered", 9),
    ("messages", 8),
    ("duplicates", 10),
    ("duplicates_in_window", 9),
    ("lost", 5),
    ("stuck", 5),
    ("workflow_task_failures", 9),
    ("lateness_p50_s", 8),
    ("lateness_p99_s", 8),
    ("resumed_s", 7),
    ("recovery_s", 9),
    ("register_s", 9),
    ("settled_s", 8),
    ("log_tracebacks", 9),
)
HEADINGS = (
    "scenario", "fault s", "expected", "recorded", "delivered", "messages", "duplicates",
    "in window", "lost", "stuck", "wft fail", "late p50", "late p99", "resumed", "recovery",
    "register", "settled", "tracebacks",
)  # fmt: skip


def row(scenario: str, figures: dict[str, Any]) -> str:
    values = {"scenario": scenario, **figures}
    return " ".join(f"{'-' if values.get(k) is None else values[k]!s:>{w}}" for k, w in COLUMNS)


def report(results: dict[str, Any]) -> list[str]:
    run = results["run"]
    lines = [
        f"Faults ({'short' if run['short'] else 'full'}, {run['cases']} cases per scenario, "
        f"code {run['code']}, {run.get('seconds', '?')} s, load average "
        f"{run.get('load_average_before')} -> {run.get('load_average_after')})",
        " ".join(f"{h:>{w}}" for h, (_, w) in zip(HEADINGS, COLUMNS, strict=True)),
    ]
    for scenario, figures in results["scenarios"].items():
        lines.append(row(scenario, figures))
    for scenario, figures in results["scenarios"].items():
        if figures.get("duplicates_beside_live"):
            lines.append(
                f"  {scenario}: {figures['duplicates_beside_live']} of the copies came from the "
                "worker that sent the first (no kill between): a retry beside a live attempt"
            )
        if figures["failure_messages"]:
            lines.append(f"  {scenario}: failures shown by Temporal:")
            lines += [f"    {n} x {m}" for m, n in figures["failure_messages"].items()]
    return lines


async def main(argv: list[str]) -> int:
    args = parse(argv)
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    results = await run(
        scenarios=scenarios,
        cases=args.cases or (3 if args.short else 50),
        short=args.short,
        code=args.code,
        seed=args.seed,
        keep=args.keep,
        fault_for=args.fault_for,
    )
    print("\n".join(report(results)), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    progress(f"wrote {args.out}")
    return 0
