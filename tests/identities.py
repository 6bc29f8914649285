"""Identities for the test session: one identity key ring, and who signs what.

The session's ring is set in the environment (`SUPPORT_PROVISION_IDENTITY_KEYS`) before
any test runs, so every worker, client and command a test starts finds it there, as a
deployment finds its own. The session's Temporal clients sign every request as `SUITE`:
a service the test ring grants every permission on every case, standing in for the
many callers the older tests play (an officer, a CRM, a system). That is the only
shortcut: each request is still signed, verified by the worker and checked for its
permission, and the tests of who may do what (`tests/integration/test_identities.py`)
sign as people, agencies and services of the shipped directory instead.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta

from casemodel import permissions
from protection.identity import Identity, issue
from protection.keys import KeyRing, generate_entry
from starter.identities import KEYS_ENV, Clock, Signer, managed_by, wall_clock

RING = KeyRing.parse(generate_entry("test-identity-1"))
"""The session's identity key ring (one key, new each session)."""

SUITE = Identity(
    sub="test-suite",
    kind="service",
    name="Test suite",
    tasks=(permissions.ANY_TASK,),
    grants=permissions.ALL,
)
"""Who the session's Temporal clients sign as."""


def install() -> None:
    """Put the session's ring where every process of the session looks for it."""
    os.environ[KEYS_ENV] = RING.as_line()


def suite_signer(clock: Clock = wall_clock) -> Signer:
    return Signer(RING, SUITE, clock=clock)


def signer(identity: Identity) -> Signer:
    return Signer(RING, identity)


def person(person_id: str) -> Identity:
    """The identity `starter.identities` issues for a person of the shipped directory."""
    from tests.integration.sla_fixtures import DIRECTORY

    stored = {
        "teams": [{"id": t.id, "manager_id": t.manager} for t in DIRECTORY.teams],
        "roles": [{"id": r.id, "team_id": r.team} for r in DIRECTORY.roles],
        "people": [
            {"id": p.id, "manager_id": p.manager, "team_id": p.team, "roles": list(p.roles)}
            for p in DIRECTORY.people
        ],
    }
    entry = next(p for p in DIRECTORY.people if p.id == person_id)
    row = next(p for p in stored["people"] if p["id"] == person_id)
    return Identity(
        sub=entry.id,
        kind="person",
        name=entry.name,
        roles=entry.roles,
        team=entry.team,
        manages=tuple(sorted(managed_by(row, stored))),
        grants=(permissions.OPEN_CASE,),
    )


def token(
    identity: Identity,
    case_ref: str | None = None,
    *,
    now: datetime | None = None,
    ring: KeyRing = RING,
) -> str:
    """A token for `identity`, signed now (or at `now`) for fifteen minutes, for one
    request to `case_ref` (None: for no case, as tokens were before they were bound)."""
    return issue(
        ring,
        identity,
        now=now or datetime.now(UTC),
        lifetime=timedelta(minutes=15),
        aud=case_ref,
        jti=secrets.token_urlsafe(16) if case_ref is not None else None,
    )
