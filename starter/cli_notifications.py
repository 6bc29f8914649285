"""`support-provision notifications`: the outbox of escalation messages.

Every notification is recorded before it is mailed, so `list` shows what was sent, what
is waiting, what failed and why, and, when no mail server is configured, what would
have been sent.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from activities.database.notifications import (
    SENT,
    STATUSES,
    NotificationRow,
    list_notifications,
)
from activities.templates import format_datetime

from .cli_db import with_session
from .console import LimitOption, console, cut_by_limit, print_json, require_choice

app = typer.Typer(
    help="The notifications escalations sent, or recorded when no mail server is set.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("list")
def list_(
    case: Annotated[
        str | None,
        typer.Option(
            "--case", metavar="CASE", help="Only this case reference.", show_default=False
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help=f"Only this status: {', '.join(STATUSES)}.",
            show_default=False,
        ),
    ] = None,
    limit: LimitOption = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the outbox, newest first."""
    require_choice(status, STATUSES, option="--status", what="status")

    async def work(session: Any) -> list[NotificationRow]:
        # One more than shown, to tell a list the limit cut from one that ended.
        return await list_notifications(session, case_ref=case, status=status, limit=limit + 1)

    rows = with_session(work, what="read the notifications", read_only=True)
    _print(rows[:limit], as_json)
    cut_by_limit(limit, len(rows), order="newest")


def _print(rows: list[NotificationRow], as_json: bool) -> None:
    """The rows as JSON, or as a table for people."""
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        typer.echo("No notifications.")
        return
    recipients = [row.recipient_address or row.recipient_id or "" for row in rows]
    table = Table()
    table.add_column("When", no_wrap=True)
    for column in ("Case", "Rule", "Trigger", "Task"):
        table.add_column(column)
    # An address is never cut short or broken: the subject wraps instead.
    table.add_column("Recipient", no_wrap=True, min_width=max(map(len, recipients)))
    table.add_column("Status")
    table.add_column("Subject")
    for row, recipient in zip(rows, recipients, strict=True):
        failing = row.last_error and row.status != SENT
        state = f"{row.status}: {row.last_error}" if failing else row.status
        table.add_row(
            format_datetime(row.created_at),
            row.case_ref,
            row.rule if row.occurrence == 1 else f"{row.rule} (#{row.occurrence})",
            row.trigger,
            row.task_key or "",
            recipient,
            state,
            row.subject,
        )
    console.print(table)
