"""`bpass`: the command-line interface. Thin: it parses, calls the domain, prints."""

from __future__ import annotations

import typer

from passport.cli.keys import credential_app, keys_app
from passport.cli.ledger import (
    actor_app,
    append_command,
    audit_command,
    init_command,
    log_app,
    record_app,
)

app = typer.Typer(
    help="Battery passport and material traceability ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")
app.add_typer(credential_app, name="credential")
app.command("init")(init_command)
app.add_typer(actor_app, name="actor")
app.add_typer(record_app, name="record")
app.command("append")(append_command)
app.command("audit")(audit_command)
app.add_typer(log_app, name="log")
