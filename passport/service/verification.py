"""A passport verified end to end against the ledger (:func:`verify_passport`).

Record signatures and log inclusion, the committed checkpoint, every partition ever committed,
the lifecycle history, schema validity, that the figures equal the roll-ups recomputed as of the
checkpoint from the database's trace tables (``roll-ups``), and that they equal the roll-ups
recomputed from the signed provenance records themselves, replayed as a bundle's verifier replays
them (``provenance``): the trace tables are an index the database holds, so an edit of them, even
one made before the passport was issued (which ``roll-ups`` agrees with), is caught there. It
works for ceased passports too: their history stays verifiable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from passport.document.body import LEDGER_FIGURES, get_at
from passport.document.figures import figures_from_rollup
from passport.document.partitions import AUTHORITY
from passport.document.regulation import CarbonClassTable, load_class_table
from passport.document.rules import TRANSITIONS
from passport.document.signed_partitions import (
    commitments,
    parse_partition,
    verify_partition,
)
from passport.document.validation import validate
from passport.errors import PassportNotFoundError
from passport.ledger import log as translog
from passport.ledger.accept import verify_record_proof
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record
from passport.service.bundle import build_bundle
from passport.service.views import assemble, resolve, stored_doc
from passport.store.passport_rows import PassportEventRow, PassportState, StoredPartition
from passport.store.rows import StoredCheckpoint, StoredRecord
from passport.store.sql.repository import Tx
from passport.trace.config import TraceConfig
from passport.trace.rollup import compute_rollup
from passport.verify.bundle import verify_bundle
from signing.errors import BpassError
from signing.jcs import parse_json


# -- verification against the ledger ---------------------------------------------------------------
@dataclass
class Check:
    """One verification check."""

    name: str
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.name, "ok": self.ok, "message": self.message}


@dataclass
class VerificationReport:
    """Every check of :func:`verify_passport`."""

    passport_id: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        """All checks passed."""
        return all(c.ok for c in self.checks)

    def problems(self) -> list[dict[str, str]]:
        """Failed checks as ``{pointer, message}`` problems (the check name as pointer)."""
        return [{"pointer": c.name, "message": c.message} for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "passportId": self.passport_id,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


def _expected_figures(
    tx: Tx,
    document: Mapping[str, Any],
    lot: str,
    at: str,
    table: CarbonClassTable,
    trace_config: TraceConfig | None,
) -> dict[str, Any]:
    energy = Decimal(str(get_at(document, "/point1/carbonFootprint/serviceLifeEnergyKWh")))
    rollup = compute_rollup(tx, lot, at=at, config=trace_config)
    figures = figures_from_rollup(rollup, service_life_energy_kwh=energy, table=table)
    if get_at(document, "/point1/carbonFootprint/classTable") != table.id:
        # Issued under another class table: the class cannot be recomputed here.
        figures.pop("/point1/carbonFootprint/performanceClass", None)
        figures.pop("/point1/carbonFootprint/classTable", None)
    return {p: v for p, v in figures.items() if p in LEDGER_FIGURES}


def verify_passport(
    ledger: Ledger,
    identifier: str,
    *,
    class_table: CarbonClassTable | None = None,
    trace_config: TraceConfig | None = None,
) -> VerificationReport:
    """Verify a passport against the ledger (see the module docstring); never raises for a
    failed check, which is reported instead."""
    passport_id = resolve(ledger, identifier)
    checks: list[Check] = []

    def check(name: str, ok: bool, message: str) -> None:
        checks.append(Check(name, ok, message))

    info = ledger.info()
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
        events = tx.passports().events(passport_id)
        bodies = {e.record_hash: tx.record_by_hash(e.record_hash) for e in events}
        partition_rows = tx.passports().partitions_of(passport_id)
        record_doc = stored_doc(tx, state.record_hash)
        committed_cp = record_doc["credentialSubject"]["checkpoint"]
        cp_doc = tx.checkpoint(committed_cp["size"])
        try:
            document, *_ = assemble(tx, state, {1, 2, 3, 4})
        except BpassError as exc:
            document = None
            check("partitions", False, exc.message)
        expected: dict[str, Any] | None = None
        lot = record_doc["credentialSubject"]["pack"]["lot"]
        if document is not None and cp_doc is not None:
            try:
                expected = _expected_figures(
                    tx,
                    document,
                    lot,
                    cp_doc.created_at,
                    class_table or load_class_table(),
                    trace_config,
                )
            except (BpassError, ArithmeticError) as exc:
                why = exc.message if isinstance(exc, BpassError) else "no service-life energy"
                check("roll-ups", False, f"cannot recompute the roll-ups of {lot}: {why}")
    check("records", *_records_verified(ledger, info.log_vkey, bodies))
    check("checkpoint", *_checkpoint_matches(cp_doc, committed_cp))
    partitions_ok, partitions_message = _partitions_verified(events, bodies, partition_rows)
    if not any(c.name == "partitions" for c in checks):
        check("partitions", partitions_ok, partitions_message)
    check("lifecycle", *_lifecycle_replays(record_doc, events, bodies, state))
    if document is not None:
        problems = validate(document)
        check(
            "schema",
            not problems,
            "; ".join(f"{p.pointer}: {p.message}" for p in problems)
            or "valid against the passport schema and rules",
        )
        if expected is not None:
            differences = [p for p in validate(document, expected) if p not in problems]
            check(
                "roll-ups",
                not differences,
                "; ".join(f"{p.pointer}: {p.message}" for p in differences)
                or f"figures equal the roll-ups of {lot} as of checkpoint {committed_cp['size']}",
            )
    check("provenance", *_provenance_replayed(ledger, passport_id, info.log_vkey))
    return VerificationReport(passport_id=passport_id, checks=checks)


def _provenance_replayed(ledger: Ledger, passport_id: str, log_vkey: str) -> tuple[bool, str]:
    """Provenance: the authority's bundle of the passport (every figure-bearing partition) built
    from the stored record bytes and verified offline (:func:`passport.verify.bundle.
    verify_bundle`): signatures, chains, keys, the replay of every custody and balance rule, and
    the figures recomputed from the replayed records alone (the trace tables are not read)."""
    try:
        bundle = build_bundle(ledger, passport_id, access_role=AUTHORITY)
    except BpassError as exc:
        return False, f"cannot gather the signed provenance records: {exc.message}"
    report = verify_bundle(bundle, log_vkey=log_vkey, workers=0)
    failure = report.first_failure
    if failure is not None or not report.ok:
        name, detail = (failure.name, failure.detail) if failure else ("format", "no checks ran")
        return False, f"replaying the signed records: the {name} check failed: {detail}"
    rollups = next((c.detail for c in report.checks if c.name == "roll-ups"), "")
    return True, f"signed provenance records replayed; {rollups}"


def _records_verified(
    ledger: Ledger, log_vkey: str, bodies: Mapping[str, StoredRecord | None]
) -> tuple[bool, str]:
    """Records: signatures and inclusion in the log."""
    bad = []
    for h, stored in bodies.items():
        if stored is None:
            bad.append(f"{h} missing")
            continue
        try:
            verify_record_proof(parse_record(stored.body, max_bytes=len(stored.body) + 1))
            translog.verify_receipt(ledger.receipt(h).to_dict(), log_vkey)
        except BpassError as exc:
            bad.append(f"{h}: {exc.message}")
    return (
        not bad,
        "; ".join(bad) or f"{len(bodies)} records signed by their issuers and included in the log",
    )


def _checkpoint_matches(
    cp_doc: StoredCheckpoint | None, committed_cp: Mapping[str, Any]
) -> tuple[bool, str]:
    """The checkpoint the roll-ups were computed at."""
    if cp_doc is None:
        return False, f"the log has no checkpoint at size {committed_cp['size']}"
    same = translog.b64(cp_doc.root) == committed_cp["rootHash"]
    return (
        same,
        f"checkpoint {committed_cp['size']} ({committed_cp['rootHash']}) "
        + ("is this log's" if same else "differs from this log's"),
    )


def _partitions_verified(
    events: list[PassportEventRow],
    bodies: Mapping[str, StoredRecord | None],
    partition_rows: list[StoredPartition],
) -> tuple[bool, str]:
    """Partitions: every one ever committed verifies against its record."""
    failures = []
    committed: set[str] = set()
    for e in events:
        stored = bodies.get(e.record_hash)
        if stored is not None:
            committed.update(commitments(parse_json(stored.body)).values())
    rows = {r.hash: r for r in partition_rows}
    for h in sorted(committed):
        row = rows.get(h)
        record = bodies.get(row.record_hash) if row else None
        if row is None or record is None:
            failures.append(f"{h} is not stored")
            continue
        try:
            verify_partition(parse_json(record.body), parse_partition(row.body))
        except BpassError as exc:
            failures.append(exc.message)
    return (
        not failures,
        "; ".join(failures) or f"{len(committed)} partitions match their commitments",
    )


def _lifecycle_replays(
    record_doc: Mapping[str, Any],
    events: list[PassportEventRow],
    bodies: Mapping[str, StoredRecord | None],
    state: PassportState,
) -> tuple[bool, str]:
    """Lifecycle: the status history replays under the status machine."""
    status = record_doc["credentialSubject"]["status"]
    history_ok, message = True, f"status {status}"
    for e in events:
        stored = bodies.get(e.record_hash)
        if stored is None or e.kind != "PassportStatusChange":
            continue
        s = parse_json(stored.body)["credentialSubject"]
        if s["from"] != status or s["to"] not in TRANSITIONS[status]:
            history_ok, message = (
                False,
                f"{s['from']} → {s['to']} breaks the status machine at {e.record_hash}",
            )
            break
        status = s["to"]
        message += f" → {status}"
    if history_ok and status != state.status:
        history_ok, message = (
            False,
            f"the records end in {status}, the passport says {state.status}",
        )
    return history_ok, message + (" (ceased)" if state.ceased else "")
