"""`support-provision`: the one command for the dev stack, workers, definitions and cases."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from typing import Annotated

import typer

# typer carries its own copy of click and does not re-export its exceptions.
from typer._click.exceptions import ClickException, UsageError

from . import cli_case
from .client import CaseRefused
from .codec_server import DEFAULT_PORT as DEFAULT_CODEC_PORT
from .console import console, fail, print_json, readable_help
from .dev import DevStackError, run_dev
from .settings import Settings
from .worker import run_worker

readable_help()

app = typer.Typer(
    help="Support provision cases for housing organisations, run on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_case.app, name="case")


def package_version() -> str:
    """The installed version of the product, from its package metadata."""
    try:
        return installed_version("support-provision")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"support-provision {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Support provision cases for housing organisations, run on Temporal."""


def _mount_optional() -> None:
    """Sub-apps that live in their own modules."""
    from . import (
        cli_calendar,
        cli_codec,
        cli_db,
        cli_definitions,
        cli_directory,
        cli_keys,
        cli_notifications,
        cli_publish,
        cli_tasks,
    )

    cli_publish.register(cli_definitions.app)
    cli_tasks.register(app)
    cli_codec.register(app)
    app.add_typer(cli_definitions.app, name="definitions")
    app.add_typer(cli_calendar.app, name="calendar")
    app.add_typer(cli_db.app, name="db")
    app.add_typer(cli_directory.app, name="directory")
    app.add_typer(cli_keys.app, name="keys")
    app.add_typer(cli_notifications.app, name="notifications")


_mount_optional()


@app.command()
def dev(
    port: Annotated[int, typer.Option(metavar="PORT", help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(metavar="PORT", help="Temporal UI port.")] = 8233,
    codec_port: Annotated[
        int, typer.Option(metavar="PORT", help="Codec server port (the UI decodes through it).")
    ] = DEFAULT_CODEC_PORT,
) -> None:
    """Run the embedded stack: Temporal dev server with UI, search attributes, a worker and
    the codec server."""
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(run_dev(Settings.from_env(), port=port, ui_port=ui_port, codec_port=codec_port))
    except (DevStackError, CaseRefused) as err:
        fail(str(err))


@app.command()
def worker() -> None:
    """Run a production worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Alembic tells of every schema check at INFO; the worker's own lines say what matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_env()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    try:
        asyncio.run(serve())
    except CaseRefused as err:
        fail(err.message)
    console.print("Worker stopped.")


@app.command()
def whoami(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Who case commands sign as here (the login mapped to the directory, or
    $SUPPORT_PROVISION_SERVICE), and what that identity may do."""
    from .identities import IdentityUnavailable, held, signer_from_env

    try:
        signer = asyncio.run(signer_from_env(Settings.from_env().data_dir))
    except IdentityUnavailable as missing:
        fail(missing.message)
    identity = signer.identity
    if as_json:
        # whoami signs nothing: no token, so no issued-at or expiry to show.
        claims = identity.directory_claims()
        print_json({**claims, "may": held(identity), "key_id": signer.ring.active})
        return
    console.print(f"{identity.label}, a {identity.kind}; signed with key {signer.ring.active}")
    for line in held(identity):
        console.print(f"  {line}")


@app.command()
def token(
    case_ref: Annotated[str, typer.Argument(metavar="CASE", help="The case it is for.")],
    header: Annotated[
        bool,
        typer.Option(
            "--header",
            help='Print the whole --headers value: support-provision-identity="TOKEN".',
        ),
    ] = False,
) -> None:
    """Print an identity token for one request to CASE, as whoami's identity, for the
    plain `temporal` CLI: `--headers "$(support-provision token CASE --header)"`.

    A token is good for one request to that case, for 15 minutes: sign one per command."""
    from .identities import IdentityUnavailable, signer_from_env

    try:
        signer = asyncio.run(signer_from_env(Settings.from_env().data_dir))
        signed = asyncio.run(signer.token(case_ref))
    except IdentityUnavailable as missing:
        fail(missing.message)
    except ValueError as refused:  # not a reference a token can name
        fail(f"No token for {case_ref!r}: {refused}")
    typer.echo(f'support-provision-identity="{signed}"' if header else signed)


def usage_mistake(mistake: UsageError) -> str:
    """A mistake in the command line, in one line: what is wrong, and where to read what
    the command takes."""
    command = mistake.ctx.command_path if mistake.ctx is not None else "support-provision"
    message = " ".join(mistake.format_message().split()).rstrip(".")
    return f"{command}: {message}. See {command} --help."


def main() -> None:
    try:
        # Not standalone: a mistake in the command line comes here, to be told in one line,
        # rather than in the usage, a hint and a boxed message.
        returned = app(standalone_mode=False)
        code = returned if type(returned) is int else 0
    except UsageError as mistake:
        if mistake.format_message():  # none when the help was asked for by giving nothing
            typer.echo(usage_mistake(mistake), err=True)
        code = mistake.exit_code
    except ClickException as refused:  # e.g. a file option that cannot be read
        typer.echo(" ".join(refused.format_message().split()), err=True)
        code = refused.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        code = 1
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    # The Temporal client's native threads can abort the interpreter while it finalises
    # (temporalio/sdk-python#300); skipping finalisation once output is flushed avoids it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
