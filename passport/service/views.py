"""Reading passports: a role's view with the evidence to check it.

- :func:`show_passport` serves a reader exactly the partitions its role may see (Art. 77(2),
  :mod:`passport.document.partitions`), each as the signed partition object, with the public ledger
  records that commit to them, so the reader can check each partition
  (:func:`passport.verify.view.verify_view`) without being able to see, or confirm guesses
  about, the others.
- :func:`full_document` is the whole document (every partition), for the operator's own use.

Verification against the ledger is :mod:`passport.service.verification`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from passport.document.access import AccessRole, PassportAccessFacts, Reader, decide_access
from passport.document.body import document_from, get_at
from passport.document.compliance import carbon_class_status
from passport.document.ids import PASSPORT_ID
from passport.document.partitions import partitions_for, view
from passport.document.rules import access_grantees, mandataries
from passport.document.signed_partitions import (
    commitments,
    parse_partition,
    partition_data,
)
from passport.document.versions import versions_from_records
from passport.errors import PartitionUnverifiedError, PassportNotFoundError
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record
from passport.store.passport_rows import PassportState
from passport.store.sql.repository import Tx
from passport.verify.assurance import assurances_in_view
from signing.jcs import parse_json


def stored_doc(tx: Tx, record_hash: str) -> dict[str, Any]:
    """A stored record's JSON document (a missing one is a typed error)."""
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


def assemble(
    tx: Tx, state: PassportState, numbers: frozenset[int] | set[int]
) -> tuple[
    dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[int, dict[str, Any]], dict[int, str]
]:
    """(document, passport record, lifecycle records, partitions ``numbers``, committing record
    of each) of a passport, from its stored records and partitions."""
    passport_record = stored_doc(tx, state.record_hash)
    lifecycle = [
        stored_doc(tx, e.record_hash)
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
        document, *_ = assemble(tx, state, {1, 2, 3, 4})
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
        document, passport_record, lifecycle, served, committed_by = assemble(tx, state, allowed)
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
