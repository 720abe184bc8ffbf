"""`bpass passport …`: issue, show, verify, check, export, status, update, list. Thin: all logic is
in the domain modules (passport_issue, passport_view, passport_lifecycle, compliance,
export_batterypass); errors are the domain's typed errors, with every problem listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import (
    EXIT_REJECTED,
    DbOption,
    HomeOption,
    JsonOption,
    ReaderKeyOption,
    choose,
    ensure_config,
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
from passport.document.exports.batterypass import ASPECTS, PERFORMANCE_VERSIONS, export_batterypass
from passport.document.exports.catenax import export_catenax, parse_supplement
from passport.document.partitions import PARTITION_TITLES, ROLE_PARTITIONS, partitions_for
from passport.errors import ConfigurationError
from signing.errors import BpassError

EXPORT_FORMATS = ("batterypass", "catenax")

if TYPE_CHECKING:
    from passport.ledger.pipeline import Ledger

passport_app = typer.Typer(
    help="Battery passports (EU 2023/1542 Art. 77, Annex XIII).", no_args_is_help=True
)

KeyOption = Annotated[Path, typer.Option("--key", help="The signing actor's private key file.")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (kept in the public record).")
]
ClassTableOption = Annotated[
    Path | None,
    typer.Option(
        "--class-table",
        help=(
            "Carbon-footprint class table (JSON); default $BPASS_CARBON_CLASS_TABLE, "
            "else the labelled placeholder."
        ),
    ),
]
IdArgument = Annotated[
    str, typer.Argument(help="Passport id (urn:bpass:…) or the battery's Digital Link URI.")
]


def _ledger(db: str | None, home: Path | None, *, write: bool) -> Ledger:
    from passport.ledger.pipeline import Ledger

    return Ledger.open(settings(db, home), need_log_key=write)


def _object(path: Path, what: str) -> dict[str, Any]:
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} must hold a JSON object ({what})")
    return data


def _tree(value: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_tree(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {item if item not in ({}, []) else '(none)'}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                sub = _tree(item, indent + 1)
                lines.append(f"{pad}- {sub[0].strip()}" if sub else f"{pad}-")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {item}")
    else:
        lines.append(f"{pad}{value}")
    return lines


@passport_app.command("issue")
@handle_errors
def issue_command(
    pack: Annotated[
        str,
        typer.Option(
            "--pack", help="The pack lot (urn:lot:…) whose provenance the figures come from."
        ),
    ],
    model: Annotated[
        Path, typer.Option("--model", help="The OEM's model data (JSON, the passport's layout).")
    ],
    key: KeyOption,
    serial: Annotated[
        str | None, typer.Option("--serial", help="The pack's serial number (else from the model).")
    ] = None,
    class_table: ClassTableOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a pack's passport: roll-ups + model data, validated, signed, appended.

    Not over --server: the records are prepared from the node's database (roll-ups, current
    partitions); the API takes them signed (POST /passports…)."""
    from passport.document.regulation import load_class_table
    from passport.ledger.keystore import load_key
    from passport.ledger.pipeline import Ledger
    from passport.service.issue import issue_passport

    cfg = settings(db, home)
    ledger = Ledger.open(cfg)
    issued = issue_passport(
        ledger,
        load_key(key),
        pack_lot=pack,
        model=_object(model, "the model data"),
        base_url=cfg.public_base_url,
        serial=serial,
        class_table=load_class_table(class_table),
    )
    if as_json:
        print_json(issued.to_dict())
        return
    typer.echo(f"issued passport {issued.passport_id}")
    typer.echo(f"battery:        {issued.battery_id}")
    typer.echo(f"record:         {issued.record_hash} (leaf {issued.receipt.leaf_index})")
    for number, digest in issued.to_dict()["partitions"].items():
        typer.echo(f"partition {number}:    {digest}")


@passport_app.command("show")
@handle_errors
def show_command(
    passport: IdArgument,
    role: Annotated[
        str, typer.Option("--role", help=f"Reader role: {', '.join(ROLE_PARTITIONS)}.")
    ] = "public",
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    key: ReaderKeyOption = None,
) -> None:
    """Show what ROLE may see of a passport (with --json: plus the signed evidence to verify it).

    With --server the node decides what the reader (--key) is entitled to see."""
    from passport.service.views import show_passport

    role = spelled(role, ROLE_PARTITIONS)
    partitions_for(role)
    ledger: Ledger | None = None
    if server:
        node = remote(server)
        try:
            view = node.passport(remote_passport_id(passport), role, reader_key(key))
        finally:
            node.close()
    else:
        ledger = _ledger(db, home, write=False)
        view = show_passport(ledger, passport, role).to_dict()
    if as_json:
        print_json(view)
        return
    _print_view(view, ledger)


def _print_view(view: dict[str, Any], ledger: Ledger | None) -> None:
    """A view (:meth:`PassportView.to_dict`) as text: metadata, then each signed partition."""
    doc = dict(view["passport"])
    committed_by = view["evidence"]["committedBy"]
    typer.echo(f"passport {doc.pop('passportId')} as seen by: {view['role']}")
    if view.get("versions"):
        latest = view["versions"][-1]
        typer.echo(f"version {latest['version']} ({latest['kind']}): {latest['hash']}")
    _echo_assurances(view.get("assurances", []), ledger)
    carbon = view.get("annotations", {}).get("carbonFootprintClass")
    if carbon and carbon["provisional"]:
        typer.echo(
            f"carbon footprint class {carbon['class']}: PROVISIONAL (table "
            f"{carbon['classTable']}): {carbon['note']}"
        )
    parts = {key: doc.pop(key) for key in list(doc) if key.startswith("point")}
    for line in _tree(doc):
        typer.echo(line)
    for key, data in parts.items():
        number = int(key[5:])
        typer.echo(
            f"\n== {PARTITION_TITLES[number]} (signed, committed by {committed_by[str(number)]}) =="
        )
        shown = {k: v for k, v in data.items() if k != "salt"}
        for line in _tree(shown):
            typer.echo(line)


def _echo_assurances(assurances: list[dict[str, Any]], ledger: Ledger | None) -> None:
    """One line per Assurance: who checked which figures, when, as of which checkpoint (the
    checker by its registered name when the ledger is at hand, else by its DID)."""
    from passport.service.assurance import label_assurances, named_assurances

    named = label_assurances(assurances) if ledger is None else named_assurances(ledger, assurances)
    for a in named:
        held = ", ".join(a["holdsLabels"]) or "none"
        line = (
            f"checked by {a['issuerName']} on {a['issuedAt']} ({a['method']} as of checkpoint "
            f"{a['checkpoint']['size']}): {held} hold"
        )
        for label, fail in zip(a["failsLabels"], a["fails"], strict=True):
            line += f"; {label} does NOT hold: {fail['reason']}"
        typer.echo(line + " (their replay of the confidential records, not yours)")


@passport_app.command("verify")
@handle_errors
def verify_command(
    passport: IdArgument,
    class_table: ClassTableOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a passport against the ledger: signatures, log, partitions, lifecycle, schema,
    roll-ups from the trace tables, and provenance: the figures recomputed from the signed
    provenance records replayed as `bpass verify` replays a bundle (so an edit of the database's
    trace tables fails it).

    Not over --server: it reads the node's database. For a remote passport, `bpass passport
    bundle ID --server URL --out B.json` then `bpass verify B.json` checks it offline."""
    from passport.document.regulation import load_class_table
    from passport.service.verification import verify_passport

    report = verify_passport(
        _ledger(db, home, write=False), passport, class_table=load_class_table(class_table)
    )
    if as_json:
        print_json(report.to_dict())
    else:
        for c in report.checks:
            typer.echo(f"{'ok    ' if c.ok else 'FAILED'} {c.name}: {c.message}")
        typer.echo(f"passport {report.passport_id}: {'verified' if report.ok else 'NOT verified'}")
    if not report.ok:
        raise typer.Exit(EXIT_REJECTED)


@passport_app.command("verify-view")
@handle_errors
def verify_view_command(
    view_file: Annotated[
        Path, typer.Argument(help="A view saved from `bpass passport show --json`.")
    ],
    log_vkey: Annotated[
        str | None,
        typer.Option(
            "--log-vkey", help="The log's verifier key (else this node's ledger's, if any)."
        ),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Take the log's verifier key from the node at this URL."),
    ] = None,
) -> None:
    """Verify a served view offline: record signatures, each partition against its commitment,
    the shown data, and (with a log key) every record's inclusion in the log."""
    from passport.verify.view import verify_view

    served = _object(view_file, "a passport view")
    if log_vkey is None and server:
        node = remote(server)
        try:
            log_vkey = node.info().log_vkey
        finally:
            node.close()
    if log_vkey is None:
        try:
            log_vkey = _ledger(db, home, write=False).info().log_vkey
        except BpassError:
            typer.echo("note: no log key given and no ledger here: inclusion not checked", err=True)
    verify_view(served, log_vkey=log_vkey)
    shown = ", ".join(sorted(served["evidence"]["partitions"]))
    typer.echo(
        f"view of {served['passport']['passportId']} verified: partitions {shown} match the signed "
        f"record{'s and the log' if log_vkey else 's'}"
    )


@passport_app.command("check")
@handle_errors
def check_command(
    passport: IdArgument,
    class_table: ClassTableOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    key: ReaderKeyOption = None,
) -> None:
    """Compliance report: Annex XIII completeness, Art. 8 minimums, carbon class, due diligence.

    With --server the node reports over the partitions the reader (--key) may see.

    Exits 0 when the report is ok, 1 when it is not. ok means no findings: every Annex XIII
    item of the battery's category is present (values a battery cannot have before it is put
    into service are "not yet applicable", not missing), no applicable Art. 8 minimum is
    failed (the 2031 and the 2036 levels, before they apply too), the declared carbon class
    agrees with the class table, and due diligence fully covers every Art. 48 raw material the
    battery contains.
    """
    from passport.document.compliance import compliance_report
    from passport.document.regulation import load_class_table
    from passport.service.views import full_document, resolve

    if server:
        ensure_config(class_table is None, "--class-table is for a local ledger")
        node = remote(server)
        try:
            report = node.compliance(remote_passport_id(passport), None, reader_key(key))
        finally:
            node.close()
    else:
        ledger = _ledger(db, home, write=False)
        report = compliance_report(
            full_document(ledger, resolve(ledger, passport)),
            class_table=load_class_table(class_table),
        )
    if as_json:
        print_json(report)
        if not report["ok"]:
            raise typer.Exit(EXIT_REJECTED)
        return
    gaps = report["completeness"]
    typer.echo(f"passport {report['passportId']} ({gaps['category']}, status {report['status']})")
    typer.echo(
        f"Annex XIII completeness: {'complete' if gaps['complete'] else 'INCOMPLETE'} "
        f"({gaps['checked']} items)"
    )
    for gap in gaps["missing"]:
        typer.echo(f"  missing {gap['item']} ({gap['pointer']})")
    for gap in gaps["notYetApplicable"]:
        typer.echo(f"  not yet applicable: {gap['item']} ({gap['pointer']}): {gap['reason']}")
    typer.echo("Art. 8 recycled content:")
    for row in report["recycledContent"]:
        if row["status"] == "not-applicable":
            typer.echo(f"  {row['element']:<8} {row['year']}  n/a ({row['reason']})")
        else:
            typer.echo(
                f"  {row['element']:<8} {row['year']}  {row['status'].upper():<4}  "
                f"{row['actualPercent']:>6} % "
                f"vs {row['requiredPercent']:>6} %  margin {row['marginPercent']} pp"
            )
    cf = report["carbonFootprint"]
    typer.echo(
        f"Carbon footprint: {cf['kgCO2ePerKWh']} kg CO2e/kWh, class {cf['class']} "
        f"(declared {cf['declaredClass']}) "
        f"under table {cf['table']}{' [PROVISIONAL]' if cf['provisional'] else ''}"
    )
    if cf["provisional"]:
        typer.echo(f"  {cf['note']}")
    typer.echo("Due diligence (Art. 48):")
    for row in report["dueDiligence"]:
        covered = f"{row['coveragePercent']} %" if row["coveragePercent"] is not None else "-"
        typer.echo(f"  {row['material']:<16} {row['status']:<12} {covered}")
    typer.echo(f"findings: {len(report['findings'])}")
    for finding in report["findings"]:
        typer.echo(f"  - {finding}")
    typer.echo(f"ok: {'yes' if report['ok'] else 'NO'} ({report['okMeans']})")
    if not report["ok"]:
        raise typer.Exit(EXIT_REJECTED)


@passport_app.command("export")
@handle_errors
def export_command(
    passport: IdArgument,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="Export format: batterypass (Battery Pass Data Model v1.2, seven aspects) or "
            "catenax (Catena-X io.catenax.battery.battery_pass 6.1.0, one payload).",
        ),
    ] = "batterypass",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write into: one <Aspect>.json per aspect (batterypass) or "
            "BatteryPass.json (catenax).",
        ),
    ] = None,
    performance_version: Annotated[
        str,
        typer.Option(
            "--performance-version",
            help=f"PerformanceAndDurability version: {', '.join(PERFORMANCE_VERSIONS)}.",
        ),
    ] = "1.2.1",
    supplements: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="catenax only: a Catena-X-only value the passport does not hold, as "
            "POINTER=VALUE (repeatable), e.g. /metadata/economicOperatorId=BPNL0000000000AB.",
        ),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="With --server: the economic operator's key (the node exports to it)."
        ),
    ] = None,
) -> None:
    """Export the passport to the Battery Pass or Catena-X data model (all partitions: for the
    operator's use), with the passport version it exports and that version's canonical hash.

    Without --out prints {"passportVersion", "aspects", "supplement"} (batterypass) or
    {"passportVersion", "BatteryPass"} (catenax); with --out writes one <Aspect>.json per aspect
    and BatteryPassSupplement.json (mandatory information the Battery Pass model has no member
    for), or BatteryPass.json, and passport-version.json (the version and its hash)."""
    from passport.service.views import current_version, full_document, resolve

    fmt = choose("export format", fmt, EXPORT_FORMATS)
    performance_version = choose(
        "PerformanceAndDurability version", performance_version, PERFORMANCE_VERSIONS
    )
    if supplements and fmt != "catenax":
        raise ConfigurationError("--set applies to --format catenax only")
    if server:
        signing_key = reader_key(key)
        if signing_key is None:
            raise ConfigurationError("--server needs --key: the node exports to the operator only")
        node = remote(server)
        try:
            answer = node.export(
                remote_passport_id(passport),
                signing_key,
                fmt=fmt,
                performance_version=performance_version,
                supplements=supplements or [],
            )
        finally:
            node.close()
        version, aspects = answer["passportVersion"], answer["aspects"]
        supplement, notes = answer.get("supplement"), list(answer.get("notes", []))
    else:
        ledger = _ledger(db, home, write=False)
        passport_id = resolve(ledger, passport)
        document = full_document(ledger, passport_id)
        version = current_version(ledger, passport_id)
        if fmt == "catenax":
            given = dict(parse_supplement(s) for s in supplements or [])
            catenax = export_catenax(document, supplements=given)
            aspects, supplement, notes = {"BatteryPass": catenax.payload}, None, list(catenax.notes)
        else:
            exported = export_batterypass(
                document, performance_version=performance_version, version=version
            )
            aspects, supplement = exported.aspects, exported.supplement
            notes = list(exported.notes)
    _write_export(fmt, version, aspects, supplement, notes, out)


def _write_export(
    fmt: str,
    version: dict[str, Any],
    aspects: dict[str, Any],
    supplement: dict[str, Any] | None,
    notes: list[str],
    out: Path | None,
) -> None:
    """Print the export, or write its files to ``out``; the version and notes on stderr."""
    files: dict[str, Any]
    if fmt == "catenax":
        files = {"BatteryPass": aspects["BatteryPass"]}
        printed: dict[str, Any] = {"passportVersion": version, **files}
    else:
        files = {name: aspects[name] for name in ASPECTS}
        files["BatteryPassSupplement"] = supplement
        printed = {"passportVersion": version, "aspects": aspects, "supplement": supplement}
    if out is None:
        print_json(printed)
    else:
        out.mkdir(parents=True, exist_ok=True)
        files["passport-version"] = version
        for name, payload in files.items():
            (out / f"{name}.json").write_text(
                json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        what = (
            "the battery_pass 6.1.0 payload (BatteryPass.json)"
            if fmt == "catenax"
            else f"{len(ASPECTS)} aspects, BatteryPassSupplement.json"
        )
        typer.echo(f"wrote {what} and passport-version.json to {out}")
    typer.echo(f"passport version {version['version']}: {version['hash']}", err=True)
    for note in notes:
        typer.echo(f"note: {note}", err=True)


@passport_app.command("status")
@handle_errors
def status_command(
    passport: IdArgument,
    to: Annotated[
        str, typer.Option("--to", help="repurposed, re-used, remanufactured, waste or recycled.")
    ],
    key: KeyOption,
    reason: ReasonOption = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model data of the successor passport.")
    ] = None,
    serial: Annotated[
        str | None, typer.Option("--serial", help="New serial number of the successor battery.")
    ] = None,
    new_passport: Annotated[
        bool | None,
        typer.Option(
            "--new-passport/--no-new-passport", help="Issue a successor passport (re-use)."
        ),
    ] = None,
    point4: Annotated[
        Path | None,
        typer.Option("--point4", help="JSON: performance at the change (merged into point 4)."),
    ] = None,
    class_table: ClassTableOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change the battery's status; repurposing or remanufacturing issues a linked successor
    passport.

    Not over --server: the records are prepared from the node's database (roll-ups, current
    partitions); the API takes them signed (POST /passports…)."""
    from passport.document.regulation import load_class_table
    from passport.document.rules import TRANSITIONS
    from passport.ledger.keystore import load_key
    from passport.ledger.pipeline import Ledger
    from passport.service.lifecycle import change_status

    to = choose("passport status", to, sorted({t for ts in TRANSITIONS.values() for t in ts}))
    cfg = settings(db, home)
    result = change_status(
        Ledger.open(cfg),
        load_key(key),
        passport,
        to,
        base_url=cfg.public_base_url,
        reason=reason,
        new_passport=new_passport,
        model=_object(model, "successor model data") if model else None,
        serial=serial,
        point4=_object(point4, "point-4 data") if point4 else None,
        class_table=load_class_table(class_table),
    )
    if as_json:
        print_json(result.to_dict())
        return
    typer.echo(
        f"passport {result.passport_id} is now {result.status} (record {result.record_hash})"
    )
    if result.successor is not None:
        typer.echo(
            f"successor passport {result.successor.passport_id} for {result.successor.battery_id}"
        )
    if result.status == "recycled":
        typer.echo("the passport has ceased; its history stays verifiable")


def _event(text: str) -> dict[str, str]:
    kind, sep, rest = text.partition("@")
    if not sep:
        raise ConfigurationError(
            f"--event {text!r}: use KIND@TIME[:description], e.g. accident@2027-05-01T10:00:00Z"
        )
    moment, _, description = rest.partition("Z:")
    event = {"event": kind, "occurredAt": moment if moment.endswith("Z") else moment + "Z"}
    if description:
        event["description"] = description
    return event


@passport_app.command("update")
@handle_errors
def update_command(
    passport: IdArgument,
    key: KeyOption,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="JSON merged into point 4 (stateOfHealth, usage, …)."),
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="Add a negative event KIND@TIME[:description] (repeatable)."),
    ] = None,
    reason: ReasonOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Update point 4 (state of health, cycles, events, temperature, state of charge).

    Not over --server: the records are prepared from the node's database (roll-ups, current
    partitions); the API takes them signed (POST /passports…)."""
    from passport.ledger.keystore import load_key
    from passport.service.lifecycle import update_passport

    changes = _object(data, "point-4 changes") if data else {}
    events = [_event(e) for e in event or []]
    if not changes and not events:
        raise ConfigurationError("nothing to update: give --data and/or --event")
    result = update_passport(
        _ledger(db, home, write=True),
        load_key(key),
        passport,
        changes,
        add_events=events,
        reason=reason,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(f"updated point 4 of {result.passport_id} (record {result.record_hash})")


@passport_app.command("mandate")
@handle_errors
def mandate_command(
    passport: IdArgument,
    to: Annotated[str, typer.Option("--to", help="DID of the actor mandated (a repairer).")],
    key: KeyOption,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the mandate (RFC 3339 UTC).")
    ] = None,
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="Withdraw the actor's mandate instead.")
    ] = False,
    reason: ReasonOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """As the passport's economic operator, mandate an actor to update point 4 (or withdraw it).

    Not over --server: the records are prepared from the node's database (roll-ups, current
    partitions); the API takes them signed (POST /passports…)."""
    from passport.ledger.keystore import load_key
    from passport.service.lifecycle import mandate

    result = mandate(
        _ledger(db, home, write=True),
        load_key(key),
        passport,
        to,
        withdraw=withdraw,
        valid_until=until,
        reason=reason,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        done = "withdrew the mandate of" if withdraw else "mandated"
        typer.echo(
            f"{done} {to} to update point 4 of {result.passport_id} (record {result.record_hash})"
        )


@passport_app.command("grant")
@handle_errors
def grant_command(
    passport: IdArgument,
    to: Annotated[str, typer.Option("--to", help="DID of the actor granted read access.")],
    key: KeyOption,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the access (RFC 3339 UTC).")
    ] = None,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke the actor's access instead.")
    ] = False,
    reason: ReasonOption = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """As the passport's economic operator, grant an actor read access to points 2 and 4 of this
    passport (or revoke it): Art. 77(2)(b), a legitimate interest in this battery.

    Not over --server: the record is prepared from the node's database."""
    from passport.ledger.keystore import load_key
    from passport.service.lifecycle import grant_access

    result = grant_access(
        _ledger(db, home, write=True),
        load_key(key),
        passport,
        to,
        revoke=revoke,
        valid_until=until,
        reason=reason,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        done = "revoked the access of" if revoke else "granted"
        typer.echo(
            f"{done} {to} to read points 2 and 4 of {result.passport_id} "
            f"(record {result.record_hash})"
        )


@passport_app.command("list")
@handle_errors
def list_command(
    limit: Annotated[int, typer.Option("--limit", help="How many.")] = 100,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List passports with their battery, status and links.

    Not over --server: the API lists no passports (read one by id with `passport show`)."""

    ledger = _ledger(db, home, write=False)
    with ledger.repo.read() as tx:
        rows = tx.passports().all_passports(limit=limit)
    items = [
        {
            "passportId": r.passport_id,
            "batteryId": r.battery_id,
            "category": r.category,
            "status": r.status,
            "predecessor": r.predecessor,
            "successor": r.successor,
            "ceasedAt": r.ceased_at,
            "issuedAt": r.issued_at,
        }
        for r in rows
    ]
    if as_json:
        print_json(items)
        return
    for i in items:
        links = "".join(
            f"  {label} {i[k]}"
            for label, k in (("after", "predecessor"), ("then", "successor"))
            if i[k]
        )
        typer.echo(
            f"{i['passportId']}  {i['category']:<10} {i['status']:<14} {i['batteryId']}{links}"
        )


def _listed(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values, in order."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@passport_app.command("assure")
@handle_errors
def assure_command(
    passport: IdArgument,
    key: KeyOption,
    holds: Annotated[
        list[str] | None,
        typer.Option(
            "--holds",
            help="A figure found to hold (pointer such as /point1/recycledContent, or its last "
            "segment: perKWh, recycledContent); repeat or separate with commas.",
        ),
    ] = None,
    fails: Annotated[
        list[str] | None,
        typer.Option("--fails", help="FIGURE:REASON, a figure found not to hold; repeatable."),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="full-replay or sample-replay.")
    ] = "full-replay",
    statement: Annotated[
        str | None, typer.Option("--statement", help="Free text kept in the public record.")
    ] = None,
    checkpoint: Annotated[
        int | None,
        typer.Option("--checkpoint", help="Log size replayed as of (default: the latest)."),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """As a certifier or notified body, state publicly which of the passport's point-1 figures
    you replayed and found to hold (an Assurance record of its current version)."""
    from passport.ledger.keystore import load_key
    from passport.service.assurance import assure, parse_failure

    failures = [parse_failure(f) for f in fails or []]
    result = assure(
        _ledger(db, home, write=True),
        load_key(key),
        passport,
        holds=_listed(holds),
        fails=failures,
        method=method,
        statement=statement,
        checkpoint_size=checkpoint,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"assured {result['passportId']} version {result['version']} as of checkpoint "
        f"{result['checkpoint']['size']} (record {result['record']})"
    )
