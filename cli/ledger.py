"""`bpass init`, `actor`, `record`, `append`, `audit`, `log …`: the ledger from a terminal."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import (
    EXIT_REJECTED,
    DbOption,
    HomeOption,
    JsonOption,
    choose,
    handle_errors,
    print_json,
    read_bytes,
    read_json_file,
    remote,
    settings,
    write_output,
)
from cli.serve import ServerOption
from passport.errors import ConfigurationError
from signing.errors import BpassError

if TYPE_CHECKING:
    from api.client import RemoteLedger
    from passport.ledger.pipeline import Ledger
    from passport.records.confidential import Confidential

actor_app = typer.Typer(help="Registered actors, their roles and keys.", no_args_is_help=True)
record_app = typer.Typer(help="Build and sign ledger records.", no_args_is_help=True)
log_app = typer.Typer(help="The transparency log: checkpoints and proofs.", no_args_is_help=True)


def open_ledger(db: str | None, home: Path | None, *, need_log_key: bool = True) -> Ledger:
    """Open the ledger chosen by the options and environment."""
    from passport.ledger.pipeline import Ledger

    return Ledger.open(settings(db, home), need_log_key=need_log_key)


def open_ledger_or_remote(
    db: str | None, home: Path | None, server: str | None, *, need_log_key: bool = True
) -> Ledger | RemoteLedger:
    """The ledger chosen by the options, or the node at ``--server`` through its HTTP API."""
    if server:
        from api.client import RemoteLedger

        return RemoteLedger(server)
    return open_ledger(db, home, need_log_key=need_log_key)


def init_command(
    db: DbOption = None,
    home: HomeOption = None,
    origin: Annotated[
        str | None, typer.Option(help="Log origin (default: a new unique name).")
    ] = None,
    name: Annotated[str, typer.Option(help="The operator's legal name.")] = "Ledger operator",
) -> None:
    """Create (or upgrade) the ledger and its keys; print the log origin and operator DID.

    Not over --server: it creates a node's own database and keys."""
    from passport.ledger.keystore import load_or_create
    from passport.ledger.pipeline import Ledger
    from passport.store.sql.repository import Repository

    @handle_errors
    def run() -> None:
        cfg = settings(db, home)
        operator_key, _ = load_or_create(cfg.operator_key_path)
        log_key, _ = load_or_create(cfg.log_key_path)
        repo = Repository(cfg.resolved_database_url())
        ledger = Ledger(
            repo,
            log_key=log_key,
            max_record_bytes=cfg.max_record_bytes,
            clock_skew_seconds=cfg.clock_skew_seconds,
        )
        chosen = origin or cfg.log_origin or f"battery-passport.local/log/{secrets.token_hex(4)}"
        info, created = ledger.initialise(operator_key, chosen, name)
        ledger.close()
        typer.echo(
            ("initialised" if created else "already initialised; schema up to date")
            + f": {repo.url}"
        )
        typer.echo(f"log origin:   {info.origin}")
        typer.echo(f"log key:      {info.log_vkey}")
        typer.echo(f"operator DID: {info.operator_did}")

    run()


@actor_app.command("add")
@handle_errors
def actor_add(
    did: Annotated[str, typer.Option("--did", help="The actor's DID (did:key or did:web).")],
    name: Annotated[str, typer.Option("--name", help="Legal name.")],
    role: Annotated[list[str], typer.Option("--role", help="Role (repeatable).")],
    country: Annotated[str | None, typer.Option("--country", help="ISO 3166-1 alpha-2.")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Multikey of the first key (required for did:web).")
    ] = None,
    facilities: Annotated[
        Path | None, typer.Option("--facilities", help="JSON file with a list of facilities.")
    ] = None,
    confidential: Annotated[
        bool,
        typer.Option(
            "--confidential",
            help="Conceal the facilities (names, countries, coordinates) in the signed record: "
            "their Disclosures go to the actor, the operator's own database and authorities.",
        ),
    ] = False,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Register an actor: the operator signs an ActorRegistration record and appends it (with
    --server: signed here with the operator key of --home, appended on the node; with
    --confidential, its facilities concealed: DID, name, country, roles and key stay public)."""
    from passport.ledger.keystore import load_key
    from passport.records.kinds import ROLES

    roles = [choose("actor role", r, sorted(ROLES)) for r in role]
    cfg = settings(db, home)
    ledger = open_ledger_or_remote(db, home, server)
    subject: dict[str, Any] = {"id": did, "name": name, "roles": roles}
    if country:
        subject["country"] = country
    if key:
        subject["publicKeyMultibase"] = key
    if facilities:
        subject["facilities"] = read_json_file(facilities)
    operator = load_key(cfg.operator_key_path)
    if confidential:
        receipt = ledger.append(
            ledger.sign_new(operator, "ActorRegistration", subject, confidential=True)
        )
    else:
        receipt = ledger.append(ledger.sign_new(operator, "ActorRegistration", subject))
    typer.echo(
        f"registered {did} as {', '.join(roles)} "
        f"(record {receipt.record_hash}, leaf {receipt.leaf_index})"
    )


@actor_app.command("list")
@handle_errors
def actor_list(
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """List registered actors."""
    if server:
        node = remote(server)
        try:
            rows = node.actors()
        finally:
            node.close()
    else:
        ledger = open_ledger(db, home, need_log_key=False)
        with ledger.repo.read() as tx:
            actors = tx.actors()
        rows = [
            {
                "did": a.did,
                "name": a.name,
                "country": a.country,
                "roles": list(a.roles),
                "records": a.head_sequence,
            }
            for a in actors
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['did']}  {row['name']}  [{', '.join(row['roles'])}]  "
            f"{row['country'] or '--'}  {row['records']} records"
        )


@record_app.command("new")
@handle_errors
def record_new(
    kind: str,
    key: Annotated[Path, typer.Option("--key", help="The issuer's private key file.")],
    data: Annotated[Path, typer.Option("--data", help="JSON file with the credentialSubject.")],
    append: Annotated[bool, typer.Option("--append", help="Append it to the ledger too.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the signed record here.")] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Sign from the chain state beside the key alone (KEY.chain)."
        ),
    ] = False,
    from_ledger: Annotated[
        bool,
        typer.Option(
            "--from-ledger",
            help="Ignore KEY.chain and continue from the ledger's head (records signed ahead "
            "were discarded).",
        ),
    ] = False,
    confidential: Annotated[
        bool | None,
        typer.Option(
            "--confidential/--public",
            help="Conceal the members KIND does not declare public and write {record, "
            "disclosures} (the default for a kind with confidential members), or sign plain.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print {recordHash, record, disclosures (with --confidential), receipt (with "
            "--append)} on stdout, whatever --out says.",
        ),
    ] = False,
) -> None:
    """Sign a new record of KIND, continuing the issuer's chain from the last record this key
    signed here (KEY.chain) or the ledger's head, whichever is ahead. A kind with confidential
    members is signed confidential unless --public: the record is redacted and written (or
    appended) with its Disclosures, as POST /records takes (docs/records.md).

    Without --json the signed record goes to --out or stdout (not printed when only appended)
    and an append's receipt to stderr."""
    from passport.ledger.keystore import load_key
    from passport.records.confidential import public_members
    from passport.records.envelope import pretty, record_hash
    from passport.records.tabular import resolve_kind
    from passport.service.chainstate import note_signed, sign_ahead
    from signing.jcs import canonicalize

    kind = resolve_kind(kind)
    if confidential is None:
        confidential = public_members(kind) is not None

    if offline and append:
        raise ConfigurationError("--offline cannot --append: append the file once online")
    ledger = None if offline else open_ledger_or_remote(db, home, server, need_log_key=append)
    subject = read_json_file(data)
    if not isinstance(subject, dict):
        raise ConfigurationError(f"{data} must hold a JSON object (the credentialSubject)")
    # The record passes step 1 (schemas) before KEY.chain names it or anything is written.
    # A record written out to append later is the key's new head at once; one appended here only
    # once the ledger accepted it (a refused one must not leave a gap).
    remember = out is not None and not append
    signed: dict[str, Any] | Confidential
    if confidential:
        signed = sign_ahead(
            load_key(key), key, kind, subject, ledger=ledger,
            from_ledger=from_ledger, remember=remember, confidential=True,
        )  # fmt: skip
        record, shown = signed.record, signed._asdict()
    else:
        signed = record = sign_ahead(
            load_key(key), key, kind, subject, ledger=ledger,
            from_ledger=from_ledger, remember=remember,
        )  # fmt: skip
        shown = record
    if out is not None or (not append and not as_json):
        write_output(pretty(shown), out)
    result: dict[str, Any] = {"recordHash": record_hash(canonicalize(record)), "record": record}
    if confidential:
        result["disclosures"] = shown["disclosures"]
    if append and ledger is not None:
        receipt = ledger.append(signed)
        note_signed(key, record)
        result["receipt"] = receipt.to_dict()
        if not as_json:
            typer.echo(json.dumps(receipt.to_dict(), indent=2), err=True)
    if as_json:
        print_json(result)


def append_command(
    files: Annotated[list[Path], typer.Argument(help="Signed record files (JSON).")],
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Append signed records, each on its own; print receipts, exit 1 naming every rejected file.

    A file holding {"record", "disclosures"} (`record new --confidential`) is appended with its
    Disclosures."""
    from passport.errors import BatchItemError
    from passport.records.confidential import submission

    @handle_errors
    def run() -> None:
        ledger = open_ledger_or_remote(db, home, server)
        rejected = 0
        receipts = []
        for path in files:
            try:
                receipt = ledger.append(submission(read_bytes(path)))
            except BatchItemError as exc:
                rejected += 1
                typer.echo(f"rejected {path}: [{exc.error.code}] {exc.error.message}", err=True)
                continue
            except BpassError as exc:
                rejected += 1
                typer.echo(f"rejected {path}: [{exc.code}] {exc.message}", err=True)
                continue
            receipts.append({"file": str(path), **receipt.to_dict()})
            if not as_json:
                state = "already in the ledger" if receipt.existing else "appended"
                typer.echo(f"{path}: {state} as leaf {receipt.leaf_index}, {receipt.record_hash}")
        if as_json:
            print_json(receipts)
        ledger.close()
        if rejected:
            raise typer.Exit(EXIT_REJECTED)

    run()


def audit_command(
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    workers: Annotated[int | None, typer.Option(help="Processes verifying signatures.")] = None,
) -> None:
    """Re-verify every record, chain, key, tree node and checkpoint; exit 1 naming the first.

    Not over --server: it re-reads the node's whole database (run it on the node)."""
    from passport.ledger.audit import audit

    @handle_errors
    def run() -> None:
        ledger = open_ledger(db, home, need_log_key=False)
        info = ledger.info()
        report = audit(ledger.repo, info.origin, info.log_vkey, workers=workers)
        if as_json:
            print_json(report.to_dict())
        else:
            for f in report.findings:
                where = f" at leaf {f.leaf_index}" if f.leaf_index is not None else ""
                rec = f" (record {f.record_hash})" if f.record_hash else ""
                typer.echo(f"FAILED [{f.check}]{where}{rec}: {f.message}")
            for s in report.suspect:
                typer.echo(
                    f"SUSPECT leaf {s['leafIndex']} ({s['recordHash']}): signed by key {s['key']} "
                    f"after its declared compromise"
                )
            counts = (
                f"{report.records} of {info.size} records, {report.nodes} tree nodes, "
                f"{report.checkpoints} checkpoints in {report.seconds:.2f}s"
            )
            if report.ok:
                typer.echo(f"audit ok: {counts}")
            else:
                problems = len(report.findings)
                typer.echo(
                    f"audit FAILED: {problems} problem{'s' if problems != 1 else ''} (above); "
                    f"checked before it stopped: {counts}"
                )
        if not report.ok:
            raise typer.Exit(EXIT_REJECTED)

    run()


@log_app.command("checkpoint")
@handle_errors
def log_checkpoint(
    size: Annotated[int | None, typer.Option(help="Tree size (default latest).")] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Print the signed checkpoint (C2SP tlog-checkpoint signed note)."""
    ledger = open_ledger_or_remote(db, home, server, need_log_key=False)
    typer.echo(ledger.checkpoint(size), nl=False)


@log_app.command("inclusion")
@handle_errors
def log_inclusion(
    record_hash: str,
    size: Annotated[int | None, typer.Option(help="Tree size (default latest).")] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Print a record's receipt: leaf, acceptance time, checkpoint and inclusion proof."""
    ledger = open_ledger_or_remote(db, home, server, need_log_key=False)
    print_json(ledger.receipt(record_hash, size).to_dict())


@log_app.command("consistency")
@handle_errors
def log_consistency(
    old_size: int,
    new_size: Annotated[int | None, typer.Argument()] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Print a consistency proof from OLD_SIZE to NEW_SIZE (default: the latest size)."""
    ledger = open_ledger_or_remote(db, home, server, need_log_key=False)
    print_json(ledger.consistency(old_size, new_size))


@record_app.command("template")
@handle_errors
def record_template(
    kind: str,
    csv_header: Annotated[
        bool, typer.Option("--csv", help="Print the CSV header row of KIND instead.")
    ] = False,
) -> None:
    """A commented example of KIND read from its schema (members, types, units, required), or
    with --csv the header row `bpass import` reads (flattened names, see docs/records.md)."""
    from passport.records.tabular import csv_columns, resolve_kind, template

    name = resolve_kind(kind)
    typer.echo(",".join(csv_columns(name)) if csv_header else template(name), nl=csv_header)


@record_app.command("show")
@handle_errors
def record_show(
    record_hash: str,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Print a stored record (pretty JSON; its canonical bytes are what RECORD_HASH hashes)."""
    from passport.errors import NotFoundError
    from signing.jcs import parse_json

    if server:
        node = remote(server)
        try:
            body = node.record(record_hash)
        finally:
            node.close()
    else:
        ledger = open_ledger(db, home, need_log_key=False)
        with ledger.repo.read() as tx:
            stored = tx.record_by_hash(record_hash)
        if stored is None:
            raise NotFoundError(f"no record {record_hash}", record=record_hash)
        body = stored.body
    print_json(parse_json(body))


@record_app.command("grant-disclosures")
@handle_errors
def record_grant_disclosures(
    key: Annotated[Path, typer.Option("--key", help="The granting actor's private key.")],
    to: Annotated[
        str, typer.Option("--to", help="DID of the certifier or notified body granted access.")
    ],
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only records of this kind (repeatable)."),
    ] = None,
    record: Annotated[
        list[str] | None,
        typer.Option("--record", help="Only this record, by hash (repeatable)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the grant (RFC 3339 UTC).")
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Why (kept in the public record).")
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let a certifier or notified body read the Disclosures of your own confidential records:
    all of them, or --kind / --record ones, until --until or until you retract the grant
    (`bpass record new Retraction` naming the grant's record). With --server the grant is
    signed here with --key and appended on the node."""
    from passport.ledger.keystore import load_key
    from passport.service.assurance import grant_disclosures

    result = grant_disclosures(
        open_ledger_or_remote(db, home, server),
        load_key(key),
        to,
        kinds=kind or [],
        records=record or [],
        valid_until=until,
        purpose=purpose,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"granted {to} the Disclosures (record {result['record']})")


@record_app.command("disclosures")
@handle_errors
def record_disclosures(
    record_hash: str,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="With --server: the reader's private key (the node logs it in)."
        ),
    ] = None,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal",
            help="Print the record's subject revealed with them (each checked against the "
            "record's digests) instead.",
        ),
    ] = False,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
) -> None:
    """Print a confidential record's Disclosures (a JSON array). With --server, as the actor
    --key signs for: the node serves them to the record's issuer, a Transfer's buyer,
    authorities and the issuer's disclosure grantees only. Without it, read straight from the
    database (--db): that is the ledger operator's own access, no entitlement is checked."""
    from passport.service.disclosures import operator_disclosures, revealed_subject

    if server:
        from api.client import RemoteLedger
        from passport.ledger.keystore import load_key

        if key is None:
            raise ConfigurationError("--server needs --key: the node serves entitled readers only")
        remote = RemoteLedger(server)
        try:
            disclosures = remote.disclosures(record_hash, load_key(key))
            body = remote.record(record_hash) if reveal else b""
        finally:
            remote.close()
    else:
        ledger = open_ledger(db, home, need_log_key=False)
        try:
            disclosures = operator_disclosures(ledger, record_hash)
            body = ledger.record(record_hash).body if reveal else b""
        finally:
            ledger.close()
    print_json(revealed_subject(body, record_hash, disclosures) if reveal else disclosures)
