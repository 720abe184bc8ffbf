"""`bpass import`: records of one kind from a CSV, JSON Lines or XLSX file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DbOption, HomeOption, JsonOption, handle_errors, print_json
from cli.ledger import open_ledger_or_remote
from cli.serve import ServerOption


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields the callback ``(done, total)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def import_command(
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines (.jsonl) or XLSX file.")],
    kind: Annotated[str, typer.Option("--kind", help="The record kind of every row.")],
    key: Annotated[Path, typer.Option("--key", help="The issuer's private key file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or xlsx (default: from the name).")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Records per append.")] = 500,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Sign plain records (default: confidential for a kind with confidential "
            "members, its Disclosures kept by the node; see docs/records.md).",
        ),
    ] = False,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check every row, then sign them in chain order and append them in batches. Records of
    a kind with confidential members are confidential unless --public. Re-running after a
    failure appends only the rows the ledger does not have yet."""
    from passport.ledger.keystore import load_key
    from passport.ledger.pipeline import Ledger
    from passport.service.imports import run_import, summary_lines

    @handle_errors
    def run() -> None:
        signing_key = load_key(key)
        ledger = open_ledger_or_remote(db, home, server)
        if not isinstance(ledger, Ledger):
            # Looking up a row's lot reads its roll-up, which the node serves to the lot's
            # creator, holders and downstream actors: read as the importing actor.
            ledger.read_as(signing_key)
        try:
            with _progress_bar(f"importing {file.name}") as update:
                result = run_import(
                    ledger,
                    signing_key,
                    key,
                    file,
                    kind,
                    fmt=fmt,
                    batch_size=batch,
                    progress=update,
                    confidential=not public,
                )
        finally:
            ledger.close()
        if as_json:
            print_json(result.to_dict())
        else:
            for line in summary_lines(result):
                typer.echo(line)

    run()
