"""Escalation notifications on each database, with a real SMTP server on loopback.

Recipients resolve against the shipped directory; the activity records every message
once and mails it once, across retries, a mail server that is down, and no mail server.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import typer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

import definitions
from activities.contracts import EscalationNotice, Recipients, SlaFigures
from activities.database.directory import Directory, load_directory, sync_directory
from activities.database.models import Person
from activities.database.notifications import NotificationRow, list_notifications
from activities.mailer import DEFAULT_FROM, Mailer, mailer_from_env
from activities.notifications import NotificationActivities, message_id
from activities.recipients import Recipient, Resolution, resolve_recipients
from activities.templates import TemplateStore
from starter import cli_notifications
from tests.integration.db_fixtures import database_url, engine, sessions  # noqa: F401
from tests.smtp import SmtpServer, smtp  # noqa: F401
from tests.waiting import eventually

TEMPLATES = TemplateStore(Path(definitions.__file__).parent / "catalog" / "templates")
DIRECTORY = load_directory(Path(definitions.__file__).parent / "directory.yaml")
UI = "http://temporal-ui.example:8233"
CASE_URL = f"{UI}/namespaces/housing/workflows/case-SP-2026-000042"


@pytest_asyncio.fixture
async def directory(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions on a database holding the shipped directory."""
    await sync(sessions, DIRECTORY)
    return sessions


async def sync(sessions: async_sessionmaker[AsyncSession], directory: Directory) -> None:
    async with sessions.begin() as session:
        await sync_directory(session, directory)


async def resolve(
    sessions: async_sessionmaker[AsyncSession], owner_id: str, **wanted: Any
) -> Resolution:
    async with sessions() as session:
        return await resolve_recipients(session, Recipients(**wanted), owner_id)


def emails(resolution: Resolution) -> list[str]:
    return [r.email for r in resolution.recipients]


def notice(**overrides: Any) -> EscalationNotice:
    values: dict[str, Any] = {
        "key": "SP-2026-000042:home-visit:visit-breach:1",
        "case_ref": "SP-2026-000042",
        "workflow_id": "case-SP-2026-000042",
        "tenant_ref": "TEN-000777",
        "provision_type": "tenancy-sustainment-assessment",
        "provision_type_name": "Tenancy sustainment assessment",
        "case_owner": "tom-bennett",
        "case_status": "open",
        "priority": "normal",
        "rule": "visit-breach",
        "trigger": "breach",
        "fired_at": datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
        "task_key": "home-visit",
        "task_name": "Home visit",
        "owner": "tom-bennett",
        "sla": SlaFigures(
            clock="home-visit",
            calendar="england-and-wales",
            target="10 working days",
            warning="2 working days",
            started_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
            warning_at=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            due_at=datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
            state="breached",
        ),
        "template": "task-sla-breach",
        "recipients": Recipients(
            owner=True, owner_manager=True, addresses=["duty.manager@northfieldhomes.example.org"]
        ),
    }
    return EscalationNotice(**{**values, **overrides})


TOLD = [
    "tom.bennett@northfieldhomes.example.org",
    "priya.shah@northfieldhomes.example.org",
    "duty.manager@northfieldhomes.example.org",
]


def activities(
    sessions: async_sessionmaker[AsyncSession], mailer: Mailer | None
) -> NotificationActivities:
    return NotificationActivities(sessions, TEMPLATES, mailer, UI + "/", "housing")


async def notify(acts: NotificationActivities, escalation: EscalationNotice) -> Any:
    return await ActivityEnvironment().run(acts.notify_escalation, escalation)


async def outbox(
    sessions: async_sessionmaker[AsyncSession], **filters: Any
) -> list[NotificationRow]:
    async with sessions() as session:
        return await list_notifications(session, **filters)


# --- recipients ---------------------------------------------------------------------------


async def test_an_owner_may_be_a_person_a_team_or_a_role(directory):
    assert emails(await resolve(directory, "tom-bennett", owner=True)) == [
        "tom.bennett@northfieldhomes.example.org"
    ]
    team = await resolve(directory, "neighbourhood-team", owner=True)
    assert team.recipients == [
        Recipient(
            "neighbourhood-team",
            "Neighbourhood Team",
            "neighbourhoods@northfieldhomes.example.org",
            "team",
        )
    ]
    assert emails(await resolve(directory, "income-officer", owner=True)) == [
        "lucy.clarke@northfieldhomes.example.org",
        "sean.murphy@northfieldhomes.example.org",
    ]


async def test_a_team_without_a_mailbox_reaches_its_active_members(directory):
    teams = tuple(
        t.model_copy(update={"email": None}) if t.id == "income-team" else t
        for t in DIRECTORY.teams
    )
    people = tuple(p for p in DIRECTORY.people if p.id != "sean-murphy")
    await sync(directory, DIRECTORY.model_copy(update={"teams": teams, "people": people}))
    assert emails(await resolve(directory, "income-team", owner=True)) == [
        "david.okonkwo@northfieldhomes.example.org",
        "lucy.clarke@northfieldhomes.example.org",
    ]


async def test_the_manager_of_a_person_a_team_and_a_role(directory):
    for owner, manager in [
        ("tom-bennett", "priya.shah@northfieldhomes.example.org"),
        ("tenancy-sustainment-team", "claire.donnelly@northfieldhomes.example.org"),
        ("income-officer", "david.okonkwo@northfieldhomes.example.org"),
    ]:
        assert emails(await resolve(directory, owner, owner_manager=True)) == [manager]
    nobody = await resolve(directory, "team-leader", owner_manager=True)  # a role with no team
    assert nobody.recipients == []
    assert [u.what for u in nobody.unreached] == ["manager:team-leader"]


async def test_a_group_reaches_its_people_and_external_addresses_once_each(directory):
    resolution = await resolve(
        directory,
        "helen-marsh",
        owner=True,
        groups=["safeguarding-panel"],
        addresses=["MASH@council.example.org", "ombudsman@example.org"],
    )
    assert resolution.recipients == [
        Recipient(
            "helen-marsh", "Helen Marsh", "helen.marsh@northfieldhomes.example.org", "person"
        ),
        Recipient(
            "joseph-adeyemi",
            "Joseph Adeyemi",
            "joseph.adeyemi@northfieldhomes.example.org",
            "person",
        ),
        Recipient(
            "claire-donnelly",
            "Claire Donnelly",
            "claire.donnelly@northfieldhomes.example.org",
            "person",
        ),
        Recipient("priya-shah", "Priya Shah", "priya.shah@northfieldhomes.example.org", "person"),
        Recipient(
            None,
            "Council adult social care",
            "adult.safeguarding@council.example.org",
            "external",
        ),
        Recipient(None, "Multi-agency safeguarding hub", "mash@council.example.org", "external"),
        Recipient(None, "ombudsman@example.org", "ombudsman@example.org", "external"),
    ]
    assert resolution.unreached == []


async def test_people_who_left_are_skipped_and_an_owner_nobody_answers_for_is_reported(
    directory,
):
    async with directory.begin() as session:  # left, but the group still lists him
        await session.execute(
            update(Person).where(Person.id == "joseph-adeyemi").values(active=False)
        )
    panel = emails(await resolve(directory, "helen-marsh", groups=["safeguarding-panel"]))
    assert "joseph.adeyemi@northfieldhomes.example.org" not in panel and len(panel) == 5

    gone = await resolve(directory, "joseph-adeyemi", owner=True, groups=["no-such-group"])
    assert emails(gone) == ["helen.marsh@northfieldhomes.example.org"], "his manager, for him"
    both = await resolve(directory, "joseph-adeyemi", owner=True, owner_manager=True)
    assert emails(both) == ["helen.marsh@northfieldhomes.example.org"] and not both.unreached
    assert [(u.what, u.reason) for u in gone.unreached] == [
        ("group:no-such-group", "no address in stakeholder group no-such-group"),
    ]

    # With his manager gone too, his team is told; with neither, nobody, and why.
    async with directory.begin() as session:
        await session.execute(update(Person).where(Person.id == "helen-marsh").values(active=False))
    team = emails(await resolve(directory, "joseph-adeyemi", owner=True))
    assert team and "helen.marsh@northfieldhomes.example.org" not in team
    async with directory.begin() as session:
        await session.execute(
            update(Person).where(Person.id == "joseph-adeyemi").values(team_id=None)
        )
    alone = await resolve(directory, "joseph-adeyemi", owner=True)
    assert alone.recipients == []
    assert [(u.what, u.reason) for u in alone.unreached] == [
        (
            "owner:joseph-adeyemi",
            "owner joseph-adeyemi has left the directory, and has no active manager or team "
            "to tell in their place",
        )
    ]


def with_panel(*changes: tuple[str, dict[str, str]]) -> Directory:
    """The shipped directory, the safeguarding panel's memberships changed by member."""
    changed = dict(changes)
    groups = []
    for group in DIRECTORY.stakeholder_groups:
        if group.id == "safeguarding-panel":
            members = tuple(
                m.model_copy(update=changed.get(m.person or m.address or "", {}))
                for m in group.members
            )
            group = group.model_copy(update={"members": members})
        groups.append(group)
    return DIRECTORY.model_copy(update={"stakeholder_groups": tuple(groups)})


PANEL_DATES = (
    ("joseph-adeyemi", {"until": date(2026, 11, 23)}),  # left the day before
    ("priya-shah", {"until": date(2026, 11, 24)}),  # her last day
    ("claire-donnelly", {"from_": date(2026, 11, 25)}),  # joins the day after
    ("mash@council.example.org", {"from_": date(2026, 11, 24)}),  # joins that day
)


async def test_a_group_reaches_the_members_in_effect_on_the_day(directory):
    await sync(directory, with_panel(*PANEL_DATES))

    async def panel(on: date) -> list[str]:
        async with directory() as session:
            wanted = Recipients(groups=["safeguarding-panel"])
            return emails(await resolve_recipients(session, wanted, "helen-marsh", on=on))

    assert await panel(date(2026, 11, 24)) == [
        "helen.marsh@northfieldhomes.example.org",
        "priya.shah@northfieldhomes.example.org",
        "adult.safeguarding@council.example.org",
        "mash@council.example.org",
    ]
    assert await panel(date(2026, 11, 25)) == [
        "helen.marsh@northfieldhomes.example.org",
        "adult.safeguarding@council.example.org",
        # New stretches are new rows, after those kept.
        "claire.donnelly@northfieldhomes.example.org",
        "mash@council.example.org",
    ]
    assert "joseph.adeyemi@northfieldhomes.example.org" in await panel(date(2026, 11, 23))


async def test_the_activity_counts_memberships_on_the_day_the_rule_fired_in_london(directory):
    """Fired at 23:30 UTC on 30 June 2027, which is already 1 July in London: a member
    whose last day was 30 June is not told, one who joined on 1 July is."""
    await sync(
        directory,
        with_panel(
            ("joseph-adeyemi", {"until": date(2027, 6, 30)}),
            ("claire-donnelly", {"from_": date(2027, 7, 1)}),
        ),
    )
    escalation = notice(
        fired_at=datetime(2027, 6, 30, 23, 30, tzinfo=UTC),
        recipients=Recipients(groups=["safeguarding-panel"]),
    )
    result = await notify(activities(directory, None), escalation)
    assert "joseph.adeyemi@northfieldhomes.example.org" not in result.recipients
    assert "claire.donnelly@northfieldhomes.example.org" in result.recipients
    assert len(result.recipients) == 5


# --- the activity -------------------------------------------------------------------------


async def test_run_twice_records_once_and_mails_once(directory, smtp: SmtpServer):
    smtp.start()
    acts = activities(directory, smtp.mailer)

    first = await notify(acts, notice())
    again = await notify(acts, notice())

    assert (first.recorded, first.sent, first.recipients) == (3, 3, TOLD)
    assert (again.recorded, again.sent, again.recipients) == (0, 0, TOLD)
    await eventually(smtp.inbox.holds(3))
    assert sorted(smtp.inbox.to()) == sorted(TOLD)
    rows = await outbox(directory, case_ref="SP-2026-000042")
    assert len(rows) == 3
    assert {(r.status, r.channel, r.attempts) for r in rows} == {("sent", "email", 1)}
    assert all(r.sent_at is not None and r.last_error is None for r in rows)

    by_address = {rcpt[0]: message for rcpt, message in smtp.inbox.messages}
    tom = by_address["tom.bennett@northfieldhomes.example.org"]
    key = "SP-2026-000042:home-visit:visit-breach:1:tom.bennett@northfieldhomes.example.org"
    assert tom["Message-ID"] == message_id(key, "northfield.example")
    assert tom["From"] == "alerts@northfield.example"
    assert tom["To"] == "Tom Bennett <tom.bennett@northfieldhomes.example.org>"
    # A long subject is folded onto the next line; unfolding leaves a space before it.
    assert tom["Subject"].strip() == (
        "Overdue: Home visit on case SP-2026-000042, due Tue 24 Nov 2026, 14:00"
    )
    assert tom["Auto-Submitted"] == "auto-generated"
    text = tom.get_body(("plain",)).get_content()
    html = tom.get_body(("html",)).get_content()
    assert "Please complete it as soon as you can" in text and CASE_URL in text
    assert f'href="{CASE_URL}"' in html
    priya = by_address["priya.shah@northfieldhomes.example.org"]
    assert "you oversee this work" in priya.get_body(("plain",)).get_content()
    assert len({m["Message-ID"] for _, m in smtp.inbox.messages}) == 3


async def test_a_mail_server_that_is_down_keeps_rows_pending_until_a_retry_sends_them(
    directory, smtp: SmtpServer
):
    acts = activities(directory, smtp.mailer)

    # One short line, the mail server's words, and nothing chained (Temporal keeps it whole).
    with pytest.raises(ApplicationError, match=f"127.0.0.1:{smtp.port}") as failure:
        await notify(acts, notice())
    assert failure.value.type == "MailUnavailable" and failure.value.__cause__ is None
    rows = await outbox(directory)
    assert len(rows) == 3
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1), ("pending", 0)}
    assert [r for r in rows if r.attempts][0].last_error

    smtp.start()
    retried = await notify(acts, notice())
    assert (retried.recorded, retried.sent) == (0, 3)
    await eventually(smtp.inbox.holds(3))
    assert sorted(smtp.inbox.to()) == sorted(TOLD)

    assert (await notify(acts, notice())).sent == 0
    assert sorted(smtp.inbox.to()) == sorted(TOLD)
    assert {r.status for r in await outbox(directory)} == {"sent"}


async def test_without_a_mail_server_every_notification_is_recorded_once(directory):
    acts = activities(directory, None)

    first = await notify(acts, notice())
    again = await notify(acts, notice())

    assert (first.recorded, first.sent, again.recorded, again.sent) == (3, 0, 0, 0)
    rows = await outbox(directory)
    assert {(r.status, r.channel, r.attempts) for r in rows} == {("recorded", "outbox", 0)}
    assert sorted(r.recipient_address for r in rows) == sorted(TOLD)
    tom = next(r for r in rows if r.recipient_id == "tom-bennett")
    assert tom.subject.startswith("Overdue: Home visit on case SP-2026-000042")
    assert CASE_URL in tom.body_text and tom.body_html and CASE_URL in tom.body_html
    assert (tom.rule, tom.trigger, tom.occurrence, tom.task_key, tom.template) == (
        "visit-breach",
        "breach",
        1,
        "home-visit",
        "task-sla-breach",
    )


async def test_what_retrying_cannot_fix_is_a_failed_row_and_the_rest_still_go(
    directory, smtp: SmtpServer
):
    smtp.inbox.refuse = frozenset({"duty.manager@northfieldhomes.example.org"})
    smtp.start()
    acts = activities(directory, smtp.mailer)
    escalation = notice(
        owner="left-last-year",
        recipients=Recipients(
            owner=True,
            groups=["tenancy-sustainment-leads"],
            addresses=["duty.manager@northfieldhomes.example.org"],
        ),
    )

    result = await notify(acts, escalation)
    assert (result.recorded, result.sent, len(result.recipients)) == (5, 3, 3)
    assert (await notify(acts, escalation)).sent == 0

    rows = {r.recipient_address or r.recipient_id: r for r in await outbox(directory)}
    nobody = rows["owner:left-last-year"]
    assert (nobody.status, nobody.last_error) == (
        "failed",
        "owner left-last-year is not in the directory",
    )
    assert nobody.idempotency_key == f"{escalation.key}:owner:left-last-year"
    refused = rows["duty.manager@northfieldhomes.example.org"]
    assert refused.status == "failed" and "550" in (refused.last_error or "")
    assert sorted(smtp.inbox.to()) == [
        "claire.donnelly@northfieldhomes.example.org",
        "david.okonkwo@northfieldhomes.example.org",
        "rebecca.stone@northfieldhomes.example.org",
    ]


async def test_a_template_that_does_not_exist_is_a_failed_row(directory):
    result = await notify(activities(directory, None), notice(template="no-such-template"))
    assert result.recorded == 3
    rows = await outbox(directory)
    assert {r.status for r in rows} == {"failed"}
    assert "there is no template 'no-such-template'" in (rows[0].last_error or "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ 'x' * 10**10 }}", "would make about 10,000,000,000 characters"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "steps",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls nest more than"),
        ("{{ 1 / 0 }}", "division by zero"),
    ],
    ids=["huge-value", "nested-loops", "recursive-macro", "division"],
)
async def test_a_template_that_cannot_render_is_a_failed_row_at_once(
    directory, tmp_path: Path, text: str, reason: str
):
    """A hostile template is refused inside the activity: each recipient's row is failed
    with the reason, so nothing is retried and the case is not held up."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "hostile.subject.j2").write_text("Case {{ case.ref }}")
    (folder / "hostile.text.j2").write_text(text)
    acts = NotificationActivities(directory, TemplateStore(folder), None, UI + "/", "housing")
    result = await notify(acts, notice(template="hostile", key=f"SP-HOSTILE:{reason}"))
    assert result.recorded == 3
    rows = [r for r in await outbox(directory) if r.notice_key == f"SP-HOSTILE:{reason}"]
    assert {r.status for r in rows} == {"failed"}
    assert all(
        "template 'hostile' did not render" in (r.last_error or "")
        and reason in (r.last_error or "")
        for r in rows
    )


async def test_each_firing_and_each_case_is_its_own_notification(directory):
    acts = activities(directory, None)
    await notify(acts, notice())
    await notify(acts, notice(key="SP-2026-000042:home-visit:visit-breach:2", occurrence=2))
    await notify(acts, notice(key="SP-2026-000043:case:case-breach:1", case_ref="SP-2026-000043"))
    assert len(await outbox(directory)) == 9
    assert len(await outbox(directory, case_ref="SP-2026-000042")) == 6
    assert len(await outbox(directory, case_ref="SP-2026-000042", limit=2)) == 2
    assert await outbox(directory, status="sent") == []


# --- the command line and the configuration ----------------------------------------------


@pytest_asyncio.fixture
async def recorded(directory) -> None:
    await notify(activities(directory, None), notice())


def test_the_outbox_on_the_command_line(database_url: str, recorded: None):
    app = typer.Typer()
    app.add_typer(cli_notifications.app, name="notifications")
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}

    table = runner.invoke(app, ["notifications", "list", "--case", "SP-2026-000042"], env=env)
    assert table.exit_code == 0, table.output
    assert (
        "visit-breach" in table.stdout and "tom.bennett@northfieldhomes.example.org" in table.stdout
    )

    listed = runner.invoke(
        app, ["notifications", "list", "--json", "--status", "recorded"], env=env
    )
    assert listed.exit_code == 0, listed.output
    assert sorted(row["recipient_address"] for row in json.loads(listed.stdout)) == sorted(TOLD)

    none = runner.invoke(app, ["notifications", "list", "--case", "SP-0"], env=env)
    assert (none.exit_code, none.stdout) == (0, "No notifications.\n")

    bad = runner.invoke(app, ["notifications", "list", "--status", "lost"], env=env)
    assert bad.exit_code == 2 and "there is no status 'lost'" in bad.stderr


def test_the_outbox_says_when_its_limit_cut_the_list(database_url: str, recorded: None):
    """`--limit` keeps the newest rows; a list it cut says so in one line on stderr, after
    the table, so that `--json` stays JSON alone and a list that ended says nothing."""
    app = typer.Typer()
    app.add_typer(cli_notifications.app, name="notifications")
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    listing = ["notifications", "list", "--case", "SP-2026-000042"]
    newest = json.loads(runner.invoke(app, [*listing, "--json"], env=env).stdout)
    cut_at = len(newest) - 1  # other tests of the session add to this case's outbox

    table = runner.invoke(app, [*listing, "--limit", str(cut_at)], env=env)
    assert table.exit_code == 0, table.output
    assert "visit-breach" in table.stdout and "Showing" not in table.stdout
    assert table.stderr == f"Showing the newest {cut_at}; --limit shows more.\n"

    machines = runner.invoke(app, [*listing, "--limit", str(cut_at), "--json"], env=env)
    assert machines.exit_code == 0, machines.output
    assert json.loads(machines.stdout) == newest[:cut_at]
    assert machines.stderr == table.stderr

    whole = runner.invoke(app, [*listing, "--limit", str(len(newest))], env=env)
    assert whole.exit_code == 0 and whole.stderr == ""


def test_an_unreachable_database_is_one_line_and_exit_1():
    app = typer.Typer()
    app.add_typer(cli_notifications.app, name="notifications")
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = CliRunner().invoke(app, ["notifications", "list"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("could not read the notifications in the database at ")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, None, None, False, False)),
        ("smtp://mail.example", ("mail.example", 25, None, None, False, False)),
        (
            "smtp://alerts%40nh:p%3Ass@mail.example:587?starttls=true",
            ("mail.example", 587, "alerts@nh", "p:ss", False, True),
        ),
        ("smtps://u:p@mail.example", ("mail.example", 465, "u", "p", True, False)),
    ],
)
def test_smtp_url(url: str, expected: tuple[Any, ...]):
    m = Mailer.from_url(url)
    assert (m.host, m.port, m.username, m.password, m.implicit_tls, m.starttls) == expected


def test_the_mailer_comes_from_the_environment():
    assert mailer_from_env({}) is None
    assert mailer_from_env({"SMTP_URL": "smtp://h:25"}) == Mailer("h", 25, DEFAULT_FROM)
    configured = mailer_from_env({"SMTP_URL": "smtp://h:25", "SMTP_FROM": "sp@nh.example"})
    assert configured is not None and configured.sender == "sp@nh.example"
    with pytest.raises(ValueError, match=r"not 'http://user:\*\*\*@host'") as refused:
        Mailer.from_url("http://user:secret@host")
    assert "secret" not in str(refused.value)


async def test_a_paths_communication_is_one_row_per_recipient_run_twice(
    directory, smtp: SmtpServer
):
    """The shipped plan's accepted debt advice referral, as the workflow would send it:
    one row per money advice partner, each mailed once, however often the activity runs."""
    from casemodel.case import Case
    from definitions.loader import load_catalog

    plan = load_catalog(Path(definitions.__file__).parent / "catalog").type(
        "financial-inclusion-support-plan"
    )
    opened = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    case = Case.open(
        plan, case_ref="FI-1", tenant_ref="TEN-9", owner="lucy-clarke", now=opened, opened_by="t"
    )
    answers = {
        "weekly-income": "310",
        "weekly-expenditure": "295",
        "arrears-amount": "800",
        "on-universal-credit": "no",
    }
    for task, outcome, responses in [
        ("income-and-expenditure-assessment", None, answers),
        ("debt-advice-referral", "referral-accepted", {"agency": "Citizens Advice"}),
    ]:
        case.complete_task(
            task, outcome=outcome, responses=responses, note=None, by="lucy", now=opened
        )
    (communication,) = case.take_communications()
    escalation = EscalationNotice.of(case, communication, "case-FI-1", opened)
    smtp.start()
    acts = activities(directory, smtp.mailer)

    first = await notify(acts, escalation)
    again = await notify(acts, escalation)

    partners = [
        "david.okonkwo@northfieldhomes.example.org",
        "referrals@advice.example.org",
        "welfare.rights@council.example.org",
    ]
    assert (first.recorded, first.sent, first.recipients) == (3, 3, partners)
    assert (again.recorded, again.sent) == (0, 0)
    rows = await outbox(directory, case_ref="FI-1")
    assert sorted(r.recipient_address or "" for r in rows) == sorted(partners)
    assert {(r.status, r.rule, r.template) for r in rows} == {
        ("sent", "path:tell-money-advice-partners", "debt-advice-referral")
    }
    await eventually(smtp.inbox.holds(3))
    assert len(smtp.inbox.messages) == 3
    subjects = {str(m["Subject"]) for _, m in smtp.inbox.messages}
    assert subjects == {"Debt advice referral from Northfield Homes: our reference FI-1"}
    external = next(m for rcpt, m in smtp.inbox.messages if rcpt[0] == partners[1])
    text = external.get_body(("plain",)).get_content()
    assert "referral to free debt advice" in text and "Open the case" not in text
