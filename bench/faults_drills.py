"""The faults a drill injects, and the cases it opens to be notified through them.

Each scenario breaks one part for a while and puts it back: the worker killed with
SIGKILL again and again; the SMTP server away; the Temporal server killed and started
again on its own files; the database's write lock held by another connection; the
database files made read-only. `FULL` are the figures of the issue (50 cases of the
shipped `escalation-demo`, faults of 30 s to three minutes); `SHORT` the same faults,
briefly, on a few cases of a type that fires within seconds, for the test suite.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from definitions.loader import default_definitions_dir, load_catalog
from definitions.schema import ProvisionType

from .env import progress
from .faults_world import World

SCENARIOS = ("kill", "smtp", "server", "lock", "readonly")


@dataclass(frozen=True)
class Plan:
    """How hard and how long each fault is, and the cases it is tried on."""

    provision_type: Callable[[], ProvisionType]
    firings_per_case: int
    fault_after: float  # seconds after the cases opened
    kill_for: float
    kill_every: tuple[float, float]
    smtp_for: float
    server_down: float
    lock_for: float
    readonly_for: float
    settle: float  # the deadline for recovery after the fault ends

    def duration(self, scenario: str) -> float:
        return float(getattr(self, _LASTS[scenario]))

    def lasting(self, scenarios: Iterable[str], seconds: float) -> Plan:
        """The same plan with each of `scenarios` lasting `seconds`."""
        return dataclasses.replace(self, **{_LASTS[s]: seconds for s in scenarios})


_LASTS = {
    "kill": "kill_for",
    "smtp": "smtp_for",
    "server": "server_down",
    "lock": "lock_for",
    "readonly": "readonly_for",
}


def escalation_demo() -> ProvisionType:
    """The shipped demonstration type: nine firings, twelve notifications, in 90 s."""
    return next(
        t
        for t in load_catalog(default_definitions_dir()).definitions()
        if t.id == "escalation-demo"
    )


def quick_drill() -> ProvisionType:
    """A task that warns its owner after 1 s and breaches after 2 s to owner and manager:
    two firings, three notifications, all within seconds of the open."""
    return ProvisionType.model_validate(
        {
            "id": "fault-drill",
            "name": "Fault drill",
            "category": "assessment",
            "audience": "internal",
            "default_owner": "marcus-reid",
            "tasks": [
                {
                    "id": "contact",
                    "name": "Contact",
                    "sla": {"target": "2 seconds", "warning": "1 seconds"},
                    "escalations": [
                        {
                            "id": "contact-warning",
                            "trigger": "warning",
                            "template": "task-sla-warning",
                            "notify": {"owner": True},
                        },
                        {
                            "id": "contact-breach",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True, "owner_manager": True},
                        },
                    ],
                }
            ],
        }
    )


FULL = Plan(
    provision_type=escalation_demo,
    firings_per_case=9,
    fault_after=5.0,
    kill_for=180.0,
    kill_every=(3.0, 11.0),
    smtp_for=60.0,
    server_down=10.0,
    lock_for=30.0,
    readonly_for=30.0,
    settle=300.0,
)
SHORT = Plan(
    provision_type=quick_drill,
    firings_per_case=2,
    fault_after=0.0,
    kill_for=6.0,
    kill_every=(1.0, 2.5),
    smtp_for=4.0,
    server_down=1.0,
    lock_for=4.0,
    readonly_for=4.0,
    settle=40.0,
)


async def inject(
    world: World,
    scenario: str,
    plan: Plan,
    rng: random.Random,
    on_fault: Callable[[], Awaitable[None]],
) -> dict[str, float]:
    """Break `scenario`'s part for its duration, calling `on_fault` now and then while it is
    broken (to sample what the cases see); put it back. Returns when it began and ended
    (time.time()) and, for the storm, how many kills."""
    began = time.time()
    kills = 0
    seconds = plan.duration(scenario)

    async def hold(until: float) -> None:
        while time.time() < until:
            await on_fault()
            await asyncio.sleep(min(1.0, max(0.0, until - time.time())))

    if scenario == "kill":
        end = began + seconds
        while time.time() < end:
            await asyncio.sleep(rng.uniform(*plan.kill_every))
            world.kill_worker()
            kills += 1
            world.start_worker()
            await on_fault()
    elif scenario == "smtp":
        world.sink.stop()
        await hold(began + seconds)
        world.sink.start()
    elif scenario == "server":
        world.kill_server()
        await hold(began + seconds)
        world.start_server()
        while not await world.server_answers():
            await asyncio.sleep(0.2)
    elif scenario == "lock":
        with world.write_lock():
            await hold(began + seconds)
    elif scenario == "readonly":
        world.make_read_only()
        try:
            await hold(began + seconds)
        finally:
            world.make_writable()
    else:
        raise ValueError(f"no scenario {scenario!r}")
    ended = time.time()
    progress(
        f"{scenario}: fault over after {ended - began:.1f}s" + (f", {kills} kills" if kills else "")
    )
    return {"began": began, "ended": ended, "kills": kills}
