"""`bpass`: the command-line interface. Thin: it parses, calls the domain, prints.

The command modules import the domain inside each command, not at their top: building the
command line then costs about 0.1 s, and each command loads only what it uses. ``bpass verify``
thereby runs without SQLAlchemy, SQLModel, the settings loader or FastAPI (about 0.8 s of
imports; ``tests/test_bundle.py`` holds it to that).
"""

from __future__ import annotations

import gc

import typer
from typer import _click as click

from cli.demo import demo_command
from cli.imports import import_command
from cli.keys import credential_app, keys_app
from cli.ledger import (
    actor_app,
    append_command,
    audit_command,
    init_command,
    log_app,
    record_app,
)
from cli.passports import passport_app
from cli.qr import qr_command
from cli.serve import serve_command
from cli.trace import trace_command
from cli.verify import bundle_command, verify_command

app = typer.Typer(
    help="Battery passport and material traceability ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"bpass {version('battery-passport')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("bpass (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Battery passport and material traceability ledger."""


app.add_typer(keys_app, name="keys")
app.add_typer(credential_app, name="credential")
app.command("init")(init_command)
app.add_typer(actor_app, name="actor")
app.add_typer(record_app, name="record")
app.command("append")(append_command)
app.command("import")(import_command)
app.command("audit")(audit_command)
app.add_typer(log_app, name="log")
app.command("serve")(serve_command)
app.command("trace")(trace_command)
passport_app.command("bundle")(bundle_command)
app.add_typer(passport_app, name="passport")
app.command("verify")(verify_command)
app.command("demo")(demo_command)
app.command("qr")(qr_command)


def command() -> click.Command:
    """The ``bpass`` command tree as click runs it, with readable placeholders in its help
    (:func:`cli.help.readable`)."""
    from typer.main import get_command

    from cli.help import readable

    built: click.Command = readable(get_command(app))
    return built


def main() -> None:
    """The ``bpass`` console script: run the command line, then exit.

    When the interpreter shuts down it collects cycles over every object still alive, most of
    them the imported libraries' (SQLAlchemy, pydantic, FastAPI): a run that only imports the
    CLI took 1.34 s, and 1.09 s with them frozen first. Frozen objects are left out of those
    collections (``gc.freeze``); atexit handlers, thread joins and ``weakref.finalize``
    callbacks (temporary directories, logging) still run, and commands commit what they write
    before they return.
    """
    try:
        command()(prog_name="bpass")
    finally:
        gc.freeze()
