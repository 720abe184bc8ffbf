"""`bpass passport bundle` and `bpass verify`: the offline verification bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    EXIT_REJECTED,
    DbOption,
    HomeOption,
    JsonOption,
    ReaderKeyOption,
    handle_errors,
    print_json,
    read_json_file,
    reader_key,
    remote,
    remote_passport_id,
    settings,
    spelled,
)
from cli.serve import ServerOption


@handle_errors
def bundle_command(
    passport: Annotated[str, typer.Argument(help="Passport id or the battery's Digital Link URI.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the bundle (JSON).")],
    role: Annotated[
        str,
        typer.Option(
            help="Reader role: public, legitimate-interest or authority. The authority bundle "
            "adds the confidential records' Disclosures, so that its figures can be replayed."
        ),
    ] = "public",
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    key: ReaderKeyOption = None,
) -> None:
    """Write the offline verification bundle of a passport, as ROLE may see it (the operator's
    own database: any role; with --server: as the node serves it to the reader --key signs for).
    `bpass verify` checks it all the same."""
    from passport.document.partitions import ROLE_PARTITIONS, partitions_for

    role = spelled(role, ROLE_PARTITIONS)
    partitions_for(role)  # an unknown role is refused before the passport is looked up
    if server:
        node = remote(server)
        try:
            bundle = node.bundle(remote_passport_id(passport), role, reader_key(key))
        finally:
            node.close()
    else:
        from passport.ledger.pipeline import Ledger
        from passport.service.bundle import build_bundle

        ledger = Ledger.open(settings(db, home), need_log_key=False)
        bundle = build_bundle(ledger, passport, access_role=role)
    out.write_text(json.dumps(bundle, ensure_ascii=False) + "\n", encoding="utf-8")
    tier = "authority bundle, with Disclosures" if "disclosures" in bundle else "public bundle"
    typer.echo(
        f"wrote {out}: passport {bundle['passport']['id']}, {len(bundle['records'])} records "
        f"({tier}), log {bundle['log']['origin']}\nlog key: {bundle['log']['verifierKey']}"
    )


def verify_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `bpass passport bundle`.")],
    log_key: Annotated[
        str | None,
        typer.Option("--log-key", help="Pin the log's verifier key (else the bundle's is used)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a passport bundle offline: exit 0 if every check passes, 1 naming the first; the
    last lines say what was established (a public bundle: integrity and completeness, figures
    not replayed; an authority bundle: everything replayed)."""
    from passport.verify.bundle import verify_bundle

    report = verify_bundle(read_json_file(bundle), log_vkey=log_key)
    if as_json:
        print_json(report.to_dict())
    else:
        for check in report.checks:
            typer.echo(f"{'ok    ' if check.ok else 'FAILED'} {check.name}: {check.detail}")
        failure = report.first_failure
        if failure is None and report.ok:
            for limit in report.limits:
                typer.echo(f"limit  {limit}")
            typer.echo(report.summary)
            typer.echo(
                f"verified: passport {report.passport_id}, as far as the checks above go "
                "(and not the limits)"
            )
        else:
            name = failure.name if failure else "format"
            typer.echo(f"NOT verified: the {name} check failed")
    if not report.ok:
        raise typer.Exit(EXIT_REJECTED)
