"""Issuing identities: who the CLI, a system or the worker signs its requests as.

The identity key ring is read from configuration (`identity_ring`): the ring text in
`SUPPORT_PROVISION_IDENTITY_KEYS`, or a key file at `SUPPORT_PROVISION_IDENTITY_KEY_FILE`,
or `<data folder>/identity-keys` (the dev stack creates it, mode 600, on first run). The
worker verifies with it; the CLI and clients sign with its active key.

- The CLI signs as a person: the login (`SUPPORT_PROVISION_USER`, else the operating
  system's) mapped to an active person of the database's directory, by `login` or by id.
- A system signs as a service of the directory: `SUPPORT_PROVISION_SERVICE=<service id>`,
  or `CaseClient.connect(..., identity=await service_signer(...))`.
- The worker signs what it starts itself (follow-on cases) as `WORKER_SERVICE`.

A `Signer` mints a short-lived token for every call (`IdentityHeaders`, the client
interceptor, puts it in the `support-provision-identity` header of each start, update
and signal), so a token copied from a log is of use for minutes at most.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
)
from temporalio.converter import default as default_converter

from activities.database.directory import list_directory
from casemodel import permissions
from protection.identity import HEADER, Identity, IdentityRefused, issue
from protection.keys import KeyRing, KeyRingError, write_new
from workflows.names import case_ref_for

KEYS_ENV = "SUPPORT_PROVISION_IDENTITY_KEYS"
KEY_FILE_ENV = "SUPPORT_PROVISION_IDENTITY_KEY_FILE"
KEY_FILE_NAME = "identity-keys"
USER_ENV = "SUPPORT_PROVISION_USER"
SERVICE_ENV = "SUPPORT_PROVISION_SERVICE"
AGENCY_ENV = "SUPPORT_PROVISION_AGENCY"
LIFETIME = timedelta(minutes=15)
WORKER_SERVICE = Identity(
    sub="support-provision-worker",
    kind="service",
    name="Support provision worker",
    grants=(permissions.OPEN_CASE, permissions.OPEN_FOLLOW_ON),
)
"""What the worker opens follow-on cases as: a service that may open cases, follow-on
cases among them, and nothing else."""


class IdentityUnavailable(Exception):
    """No identity can be signed: no ring, or a login the directory does not know. The
    message is one line saying what to do."""

    def __init__(self, message: str, code: str = "not_authenticated") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- the key ring ---------------------------------------------------------------------


def key_file(data_dir: Path) -> Path:
    """Where the identity key file is: `$SUPPORT_PROVISION_IDENTITY_KEY_FILE`, else in the
    data folder."""
    configured = os.environ.get(KEY_FILE_ENV)
    return Path(configured) if configured else data_dir / KEY_FILE_NAME


def identity_ring(data_dir: Path) -> KeyRing:
    """The identity key ring configuration names; `IdentityUnavailable` when none does."""
    try:
        text = os.environ.get(KEYS_ENV)
        if text:
            return KeyRing.parse(text, source=KEYS_ENV)
        path = key_file(data_dir)
        if path.is_file():
            return KeyRing.read(path)
    except KeyRingError as error:
        raise IdentityUnavailable(f"The identity key ring cannot be used: {error}.") from None
    raise IdentityUnavailable(
        f"No identity key ring: set {KEYS_ENV} or {KEY_FILE_ENV}, or run "
        "`support-provision dev` once to create "
        f"{path}; requests are signed with it and the worker verifies them."
    )


def ensure_key_file(data_dir: Path) -> Path:
    """The dev stack's identity key file, created (mode 600, one new key) if missing."""
    path = key_file(data_dir)
    if not path.exists() and not os.environ.get(KEYS_ENV):
        write_new(path, ("identity-1",))
    return path


# --- signing --------------------------------------------------------------------------

Clock = Callable[[], Awaitable[datetime]]


async def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Signer:
    """Signs `identity` afresh for each call, valid for `lifetime` from `clock`'s now."""

    ring: KeyRing
    identity: Identity
    lifetime: timedelta = LIFETIME
    clock: Clock = field(default=wall_clock)

    async def token(self, case_ref: str | None = None) -> str:
        """A token for one request to the case `case_ref` (a fresh `jti` each time)."""
        return issue(
            self.ring,
            self.identity,
            now=await self.clock(),
            lifetime=self.lifetime,
            aud=case_ref,
            jti=secrets.token_urlsafe(16) if case_ref is not None else None,
        )

    def as_(self, identity: Identity) -> Signer:
        """The same ring and clock, signing another identity."""
        return replace(self, identity=identity)


class IdentityHeaders(Interceptor):
    """The client interceptor that signs every start, update and signal with `signer`."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Signing(next, self.signer)


class _Signing(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, signer: Signer) -> None:
        super().__init__(next)
        self._signer = signer

    async def _header(self, workflow_id: str) -> dict[str, Payload]:
        """A token for this one call to the case whose workflow is `workflow_id`."""
        token = await self._signer.token(case_ref_for(workflow_id))
        return {HEADER: default_converter().payload_converter.to_payloads([token])[0]}

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        input.headers = {**input.headers, **await self._header(input.id)}
        return await super().start_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
        input.headers = {**input.headers, **await self._header(input.id)}
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> Any:
        started = input.start_workflow_input
        started.headers = {**started.headers, **await self._header(started.id)}
        update = input.update_workflow_input
        update.headers = {**update.headers, **await self._header(started.id)}
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.headers = {**input.headers, **await self._header(input.id)}
        await super().signal_workflow(input)


# --- from the directory ---------------------------------------------------------------


def current_login() -> str:
    """Who is at the keyboard: `$SUPPORT_PROVISION_USER`, else the operating system's login."""
    try:
        fallback = getpass.getuser()
    except (KeyError, OSError):
        fallback = ""
    return os.environ.get(USER_ENV) or fallback


async def person_identity(session: Any, login: str) -> Identity:
    """The identity of the active person `login` names: their `login`, or their id."""
    stored = await list_directory(session)
    people = stored["people"]
    person = next((p for p in people if p["login"] == login), None) or next(
        (p for p in people if p["id"] == login), None
    )
    if person is None:
        raise IdentityUnavailable(
            f"The login {login!r} is not an active person of the directory; give the person "
            f"`login: {login}` in directory.yaml and run `support-provision directory sync`, "
            f"or set {USER_ENV}=<person id>."
        )
    return Identity(
        sub=person["id"],
        kind="person",
        name=person["name"],
        roles=tuple(person["roles"]),
        team=person["team_id"],
        manages=tuple(sorted(managed_by(person, stored))),
        grants=(permissions.OPEN_CASE,),
    )


def managed_by(person: dict[str, Any], stored: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Every id `person` answers for as a manager or team leader: the people whose manager
    they are, the teams they manage or lead (as `team-leader` of their own team), and
    those teams' roles and people."""
    me = person["id"]
    teams = {t["id"] for t in stored["teams"] if t["manager_id"] == me}
    if LEADER_ROLE in person["roles"] and person["team_id"]:
        teams.add(person["team_id"])
    found = {p["id"] for p in stored["people"] if p["manager_id"] == me}
    found |= teams
    found |= {r["id"] for r in stored["roles"] if r["team_id"] in teams}
    found |= {p["id"] for p in stored["people"] if p["team_id"] in teams}
    found.discard(me)
    return found


LEADER_ROLE = "team-leader"


async def service_identity(session: Any, service_id: str) -> Identity:
    """The identity of the active service `service_id` of the directory."""
    stored = await list_directory(session)
    service = next((s for s in stored["services"] if s["id"] == service_id), None)
    if service is None:
        known = ", ".join(s["id"] for s in stored["services"]) or "none"
        raise IdentityUnavailable(
            f"{service_id!r} is not an active service of the directory (services: {known}); "
            "add it under `services:` in directory.yaml and run `support-provision directory "
            "sync`."
        )
    grants = ((permissions.OPEN_CASE,) if service["open_cases"] else ()) + tuple(service["may"])
    return Identity(
        sub=service["id"],
        kind="service",
        name=service["name"],
        tasks=tuple(service["tasks"]),
        grants=tuple(dict.fromkeys(grants)),
    )


async def agency_identity(session: Any, agency_id: str) -> Identity:
    """The identity of the active partner agency `agency_id` of the directory."""
    stored = await list_directory(session)
    agency = next((a for a in stored["agencies"] if a["id"] == agency_id), None)
    if agency is None:
        raise IdentityUnavailable(f"{agency_id!r} is not an active agency of the directory.")
    return Identity(sub=agency["id"], kind="agency", name=agency["name"], agency=agency["id"])


def check_signable(ring: KeyRing, identity: Identity) -> None:
    """Refuse here, in one line, an identity too large to sign (it manages too many)."""
    try:
        issue(ring, identity, now=datetime.now(UTC))
    except IdentityRefused as refused:
        raise IdentityUnavailable(f"Cannot sign as {identity.sub}: {refused.message}.") from None


def held(identity: Identity) -> list[str]:
    """In words, what `identity` may do (for `whoami`)."""
    if identity.kind == "agency":
        return [f"complete-task: tasks owned by {identity.agency}"]
    if identity.kind == "service":
        tasks = ", ".join(identity.tasks) or "none"
        lines = [f"complete-task: {tasks}"]
        return lines + [f"{p}: every case" for p in identity.grants]
    answers = [identity.sub, *identity.roles, *([identity.team] if identity.team else [])]
    lines = [f"{p}: every case" for p in identity.grants]
    lines.append(f"as owner, on cases and tasks owned by: {', '.join(answers)}")
    if identity.manages:
        lines.append(f"as manager or team leader, of: {', '.join(identity.manages)}")
    return lines


async def configured_identity(session: Any) -> Identity:
    """Who this process signs as: `$SUPPORT_PROVISION_SERVICE` (a system),
    `$SUPPORT_PROVISION_AGENCY` (a partner agency, which completes the tasks it owns),
    else the person the login maps to."""
    service, agency = os.environ.get(SERVICE_ENV), os.environ.get(AGENCY_ENV)
    if service and agency:
        raise IdentityUnavailable(
            f"Both {SERVICE_ENV} and {AGENCY_ENV} are set; sign as one of them: unset the other."
        )
    if service:
        return await service_identity(session, service)
    if agency:
        return await agency_identity(session, agency)
    login = current_login()
    if not login:
        raise IdentityUnavailable(f"No login to sign in with; set {USER_ENV}=<person id>.")
    return await person_identity(session, login)


async def signer_from_env(data_dir: Path, url: str | None = None) -> Signer:
    """A signer for the configured identity, its claims read from the directory in the
    database at `url` (default: the configured one)."""
    from activities.database.engine import create_engine, session_factory
    from activities.database.settings import (
        DatabaseMissing,
        UnsupportedDatabase,
        existing_database_url,
    )

    ring = identity_ring(data_dir)
    try:
        url = existing_database_url(url)
    except (DatabaseMissing, UnsupportedDatabase) as error:
        raise IdentityUnavailable(f"Cannot read the directory to sign in: {error}") from None
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            identity = await configured_identity(session)
    except (SQLAlchemyError, OSError) as error:
        raise IdentityUnavailable(
            f"Cannot read the directory to sign in: {type(error).__name__}"
        ) from None
    finally:
        await engine.dispose()
    check_signable(ring, identity)
    return Signer(ring, identity)
