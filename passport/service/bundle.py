"""Building the offline verification bundle of a passport from the ledger's database (the
bundle's contents and its checks: :mod:`passport.verify.bundle`, which verifies without a database
library).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from passport.errors import BundleError, NotFoundError
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record
from passport.service.views import resolve, show_passport
from passport.store.sql.repository import Tx
from passport.verify.bundle import BUNDLE_TYPE, BUNDLE_VERSION

__all__ = ["build_bundle"]

_NO_LIMIT = 1 << 30


def _provenance_closure(tx: Tx, lot_id: str) -> set[str]:
    """Record hashes of the lot's full upstream: creating steps (through recycled inputs too),
    transfers of those lots and their acceptances, attestations and their retractions."""
    tt = tx.trace()
    lots: set[str] = set()
    steps: set[str] = set()
    issuers: set[str] = set()
    frontier = {lot_id}
    while frontier:
        found = tt.lots_with_steps(frontier)
        missing = frontier - found.keys()
        if missing:
            raise BundleError(f"lots {sorted(missing)[:3]} have no creating record")
        lots |= frontier
        new_steps = {step.record_hash for _, step in found.values()} - steps
        for _, step in found.values():
            issuers.add(step.issuer)
        steps |= new_steps
        edges = tt.inputs_of(new_steps) if new_steps else {}
        frontier = {e.lot_id for rows in edges.values() for e in rows} - lots
    hashes = set(steps)
    for lot in lots:
        for transfer in tt.transfers_of_lot(lot):
            hashes.add(transfer.record_hash)
            if transfer.settled_by:
                hashes.add(transfer.settled_by)
    for att in tt.attestations_about(lots=lots, actors=issuers):
        hashes.add(att.record_hash)
        if att.retracted_by:
            hashes.add(att.retracted_by)
    return hashes


def _key_history(tx: Tx, issuers: Iterable[str], operator: str) -> set[str]:
    """Registration and key-history records of ``issuers`` and of the operator."""
    hashes: set[str] = set()
    for did in {*issuers, operator}:
        actor = tx.actor(did)
        if actor is None:
            raise BundleError(f"issuer {did} is not registered")
        hashes.add(actor.registration)
        for key in tx.keys_of(did):
            hashes.add(key.added_by)
            if key.retired_by:
                hashes.add(key.retired_by)
    return hashes


def _dids_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if value.startswith("did:") and "#" not in value else set()
    if isinstance(value, Mapping):
        return set().union(*(_dids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_dids_in(v) for v in value)) if value else set()
    return set()


def build_bundle(ledger: Ledger, identifier: str, *, access_role: str = "public") -> dict[str, Any]:
    """The offline verification bundle of a passport, as ``access_role`` may see it."""
    passport_id = resolve(ledger, identifier)
    view = show_passport(ledger, passport_id, access_role, with_receipts=False)
    info = ledger.info()
    subject = view.passport_record["credentialSubject"]
    committed = subject["checkpoint"]
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise NotFoundError(f"no passport {passport_id}")
        hashes = _provenance_closure(tx, subject["pack"]["lot"])
        hashes.add(state.record_hash)
        hashes |= {e.record_hash for e in tx.passports().events(passport_id)}
        hashes |= set(view.committed_by.values())
        rows = tx.records_by_hashes(sorted(hashes))
        issuers = {r.issuer for r in rows.values()}
        # Actors a record names (transfer buyers, verifiers, certified actors) must be registered
        # for the replay's rules to hold: bring their registrations too.
        for r in rows.values():
            issuers |= {d for d in _dids_in(parse_record(r.body, max_bytes=_NO_LIMIT).subject)}
        issuers = {d for d in issuers if tx.actor(d) is not None}
        for h in _key_history(tx, issuers, info.operator_did) - rows.keys():
            row = tx.record_by_hash(h)
            if row is None:
                raise BundleError(f"record {h} is missing from the ledger")
            rows[h] = row
        # Key-history records are issued by the operator: its own history is needed too.
        for h in _key_history(tx, {r.issuer for r in rows.values()}, info.operator_did):
            if h not in rows:
                row = tx.record_by_hash(h)
                if row is None:
                    raise BundleError(f"record {h} is missing from the ledger")
                rows[h] = row
        missing = hashes - rows.keys()
        if missing:
            raise BundleError(f"records {sorted(missing)[:3]} are missing from the ledger")
        cp = tx.latest_checkpoint()
        passport_cp = tx.checkpoint(committed["size"])
        if cp is None or passport_cp is None:
            raise BundleError("the log has no checkpoint covering the passport")
        ordered = sorted(rows.values(), key=lambda r: r.leaf_index)
        entries = [
            {
                "record": parse_record(r.body, max_bytes=_NO_LIMIT).doc,
                "leafIndex": r.leaf_index,
                "acceptedAt": r.accepted_at,
                "inclusionProof": [
                    translog.b64(p) for p in translog.inclusion(tx, r.leaf_index, cp.size)
                ],
            }
            for r in ordered
        ]
        # The last leaf under the passport's checkpoint fixes "as of when" the figures were
        # rolled up: its acceptance time is the checkpoint's time.
        last = tx.records_range(passport_cp.size - 1, passport_cp.size)[0]
        as_of = {
            "recordHash": last.hash,
            "leafIndex": last.leaf_index,
            "acceptedAt": last.accepted_at,
            "inclusionProof": [
                translog.b64(p) for p in translog.inclusion(tx, last.leaf_index, cp.size)
            ],
        }
        consistency = (
            [translog.b64(p) for p in translog.consistency(tx, passport_cp.size, cp.size)]
            if passport_cp.size < cp.size
            else []
        )
    return {
        "type": BUNDLE_TYPE,
        "version": BUNDLE_VERSION,
        "log": {"origin": info.origin, "verifierKey": info.log_vkey},
        "checkpoint": cp.note,
        "passport": {"id": passport_id, "record": state.record_hash, "role": access_role},
        "passportCheckpoint": {
            "note": passport_cp.note,
            "consistencyProof": consistency,
            "lastLeaf": as_of,
        },
        "view": view.to_dict(),
        "records": entries,
    }
