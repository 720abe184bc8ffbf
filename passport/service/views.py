"""Reading passports: a role's view with the evidence to check it, and verification against the
ledger.

- :func:`show_passport` serves a reader exactly the partitions its role may see (Art. 77(2),
  :mod:`passport.document.partitions`), each as the signed partition object, with the public ledger
  records that commit to them, so the reader can check each partition
  (:func:`passport.verify.view.verify_view`) without being able to see, or confirm guesses
  about, the others.
- :func:`verify_passport` re-checks a passport end to end against the ledger: record signatures
  and log inclusion, the committed checkpoint, every partition ever committed, the lifecycle
  history, schema validity, and that the figures equal the roll-ups recomputed as of the
  checkpoint. It works for ceased passports too: their history stays verifiable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from passport.document.access import AccessRole, PassportAccessFacts, Reader, decide_access
from passport.document.body import LEDGER_FIGURES, document_from, get_at
from passport.document.compliance import carbon_class_status
from passport.document.figures import figures_from_rollup
from passport.document.ids import PASSPORT_ID
from passport.document.partitions import partitions_for, view
from passport.document.regulation import CarbonClassTable, load_class_table
from passport.document.rules import TRANSITIONS, access_grantees, mandataries
from passport.document.signed_partitions import (
    commitments,
    parse_partition,
    partition_data,
    verify_partition,
)
from passport.document.validation import validate
from passport.document.versions import versions_from_records
from passport.errors import PartitionUnverifiedError, PassportNotFoundError
from passport.ledger import log as translog
from passport.ledger.accept import verify_record_proof
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record
from passport.store.passport_rows import PassportEventRow, PassportState, StoredPartition
from passport.store.rows import StoredCheckpoint, StoredRecord
from passport.store.sql.repository import Tx
from passport.trace.config import TraceConfig
from passport.trace.rollup import compute_rollup
from passport.verify.assurance import assurances_in_view
from signing.errors import BpassError
from signing.jcs import parse_json


def _record_doc(tx: Tx, record_hash: str) -> dict[str, Any]:
    stored = tx.record_by_hash(record_hash)
    if stored is None:
        raise PassportNotFoundError(f"record {record_hash} is missing from the ledger")
    doc = parse_json(stored.body)
    assert isinstance(doc, dict)
    return doc


def resolve(ledger: Ledger, identifier: str) -> str:
    """A passport identifier from a passport id or a battery's Digital Link URI (its newest
    passport: the live one if there is one)."""
    if PASSPORT_ID.match(identifier):
        return identifier
    with ledger.repo.read() as tx:
        found = tx.passports().by_battery(identifier)
    if not found:
        raise PassportNotFoundError(f"no passport for {identifier!r}")
    live = [p for p in found if not p.closed]
    return (live or found)[-1].passport_id


def load_state(ledger: Ledger, passport_id: str) -> PassportState:
    """The passport's current state; :class:`PassportNotFoundError` if there is none."""
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
    if state is None:
        raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
    return state


CONTAINING_STEPS = frozenset({"vehicle-integration"})
"""Process steps whose outputs carry the battery whole: a vehicle built from the pack. Its
holder holds the battery; a recycling step's black mass does not carry it."""


def battery_holders(tx: Tx, pack_lot: str) -> frozenset[str]:
    """Actors holding the battery now: a positive holding of the pack lot, or of a lot a
    vehicle-integration step made from it (holdings move with accepted Transfers; a pending or
    rejected one moves nothing to the buyer)."""
    tt = tx.trace()
    lots = {pack_lot}
    for edge in tt.consumers_of(pack_lot):
        step = tt.step(edge.step_hash)
        if step is not None and step.process_step in CONTAINING_STEPS:
            lots |= {lot.lot_id for lot in tt.lots_created_by(step.record_hash)}
    return frozenset(
        holder for lot in sorted(lots) for holder, grams in tt.holders(lot).items() if grams > 0
    )


def access_facts(tx: Tx, state: PassportState, at: str) -> PassportAccessFacts:
    """What the ledger says, at time ``at``, about who has a legitimate interest in the battery
    of ``state`` (:func:`passport.document.access.decide_access` decides from it)."""
    return PassportAccessFacts(
        passport_id=state.passport_id,
        economic_operator=state.issuer,
        grantees=frozenset(access_grantees(tx, state.passport_id, at)),
        mandataries=frozenset(mandataries(tx, state.passport_id, at)),
        holders=battery_holders(tx, state.pack_lot) if state.pack_lot else frozenset(),
    )


def reader_access(
    ledger: Ledger,
    identifier: str,
    reader_did: str | None,
    requested: AccessRole | str | None,
    at: str,
) -> tuple[str, AccessRole]:
    """The passport a reader asks for and the audience it is served as, decided from the ledger
    as of now: the reader's current roles (an actor gone from the ledger reads as the public)
    and the battery's facts. Raises AccessNotEntitledError for an audience it may not have."""
    passport_id = resolve(ledger, identifier)
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
        actor = tx.actor(reader_did) if reader_did is not None else None
        reader = Reader(actor.did, tuple(actor.roles)) if actor is not None else Reader()
        facts = access_facts(tx, state, at)
    return passport_id, decide_access(reader, facts, requested)


def passport_versions(tx: Tx, passport_id: str) -> list[dict[str, Any]]:
    """Every version of the passport, oldest first, with its canonical hash
    (:mod:`passport.document.versions`)."""
    events = sorted(tx.passports().events(passport_id), key=lambda e: e.leaf_index)
    return versions_from_records((e.record_hash, e.kind) for e in events)


def current_version(ledger: Ledger, passport_id: str) -> dict[str, Any]:
    """The passport's current version (the newest of :func:`passport_versions`)."""
    with ledger.repo.read() as tx:
        versions = passport_versions(tx, passport_id)
    if not versions:
        raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
    return versions[-1]


@dataclass(frozen=True)
class PassportView:
    """What one role sees of a passport, with the evidence to verify it."""

    role: str
    document: dict[str, Any]
    passport_record: dict[str, Any]
    lifecycle_records: list[dict[str, Any]]
    partitions: dict[int, dict[str, Any]]
    committed_by: dict[int, str]
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)
    """What the reader must know to read the view right, not part of the signed data: the
    carbon-footprint class marked provisional while the class table is not the final one."""
    assurances: list[dict[str, Any]] = field(default_factory=list)
    """What the passport's ``Assurance`` records state (:mod:`passport.verify.assurance`),
    computed from its lifecycle records."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``passport`` (the role's view), its ``version`` (the current one, with its
        canonical hash), every ``versions`` entry, ``assurances`` and ``evidence``."""
        return {
            "role": self.role,
            "passport": self.document,
            "version": self.versions[-1] if self.versions else None,
            "versions": self.versions,
            "annotations": self.annotations,
            "assurances": self.assurances,
            "evidence": {
                "passportRecord": self.passport_record,
                "lifecycleRecords": self.lifecycle_records,
                "partitions": {str(n): p for n, p in sorted(self.partitions.items())},
                "committedBy": {str(n): h for n, h in sorted(self.committed_by.items())},
                "receipts": self.receipts,
            },
        }


def _assemble(
    tx: Tx, state: PassportState, numbers: frozenset[int] | set[int]
) -> tuple[
    dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[int, dict[str, Any]], dict[int, str]
]:
    passport_record = _record_doc(tx, state.record_hash)
    lifecycle = [
        _record_doc(tx, e.record_hash)
        for e in tx.passports().events(state.passport_id)
        if e.record_hash != state.record_hash
    ]
    rows = {row.hash: row for row in tx.passports().partitions_of(state.passport_id)}
    current = dict(commitments(passport_record))
    current[4] = state.point4_hash
    served: dict[int, dict[str, Any]] = {}
    committed_by: dict[int, str] = {}
    for number in sorted(numbers):
        row = rows.get(current[number])
        if row is None:
            raise PartitionUnverifiedError(
                f"partition {number} of {state.passport_id} is not stored", reason="missing"
            )
        served[number] = parse_partition(row.body)
        committed_by[number] = row.record_hash
    document = document_from(
        passport_record["credentialSubject"],
        state.issued_at,
        {n: partition_data(p) for n, p in served.items()},
        status=state.status,
        last_updated=state.last_updated,
        successor=state.successor,
        ceased_at=state.ceased_at,
    )
    return document, passport_record, lifecycle, served, committed_by


def full_document(ledger: Ledger, passport_id: str) -> dict[str, Any]:
    """The whole passport document (all four partitions): for the economic operator's own use,
    compliance checks and export, never for serving to a reader."""
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
        document, *_ = _assemble(tx, state, {1, 2, 3, 4})
    return document


def show_passport(
    ledger: Ledger, identifier: str, role: str, *, with_receipts: bool = True
) -> PassportView:
    """The passport as ``role`` may see it (public, legitimate-interest, authority)."""
    allowed = partitions_for(role)
    passport_id = resolve(ledger, identifier)
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise PassportNotFoundError(f"no passport {passport_id}", passport=passport_id)
        document, passport_record, lifecycle, served, committed_by = _assemble(tx, state, allowed)
        versions = passport_versions(tx, passport_id)
    receipts: dict[str, dict[str, Any]] = {}
    if with_receipts:
        hashes = {state.record_hash, *committed_by.values()}
        for doc in lifecycle:
            hashes.add(_hash_of(doc))
        for h in sorted(hashes):
            receipts[h] = ledger.receipt(h).to_dict()
    return PassportView(
        role=str(role),
        document=view(document, role),
        passport_record=passport_record,
        lifecycle_records=lifecycle,
        partitions=served,
        committed_by=committed_by,
        receipts=receipts,
        versions=versions,
        assurances=assurances_in_view(lifecycle),
        annotations=(
            {"carbonFootprintClass": carbon_class_status(document)}
            if get_at(document, "/point1/carbonFootprint/performanceClass") is not None
            else {}
        ),
    )


def _hash_of(doc: Mapping[str, Any]) -> str:
    return parse_record(dict(doc), max_bytes=1 << 30).hash


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
        record_doc = _record_doc(tx, state.record_hash)
        committed_cp = record_doc["credentialSubject"]["checkpoint"]
        cp_doc = tx.checkpoint(committed_cp["size"])
        try:
            document, *_ = _assemble(tx, state, {1, 2, 3, 4})
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
    return VerificationReport(passport_id=passport_id, checks=checks)


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
