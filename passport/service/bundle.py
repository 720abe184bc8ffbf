"""Building the offline verification bundle of a passport from the ledger's database (the
bundle's contents and its checks: :mod:`passport.verify.bundle`, which verifies without a database
library).

Records are carried as the ledger holds them: a confidential one redacted (digests only). The
bundle's tier follows the reader's role: the authority bundle adds ``disclosures``, the
Disclosures the node keeps for each confidential record of the bundle (an authority may read
them all: :func:`passport.document.access.decide_disclosures`); every other role's bundle
carries none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from passport.errors import BundleError, NotFoundError
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.records.actors import facility_history
from passport.records.confidential import is_redacted, reveal_subject
from passport.service.closure import cut_at_checkpoint, provenance_closure
from passport.service.views import resolve, show_passport
from passport.store.rows import StoredRecord
from passport.store.sql.repository import Tx
from passport.verify.bundle import BUNDLE_TYPE, BUNDLE_VERSION, DISCLOSING_ROLES
from signing.jcs import parse_json

__all__ = ["build_bundle"]


def _key_history(tx: Tx, issuers: Iterable[str], operator: str) -> set[str]:
    """Registration, facility-update and key-history records of ``issuers`` and of the
    operator (a replayed record may name a facility an update added)."""
    hashes: set[str] = set()
    for did in {*issuers, operator}:
        actor = tx.actor(did)
        if actor is None:
            raise BundleError(f"issuer {did} is not registered")
        hashes.add(actor.registration)
        hashes |= {str(h["record"]) for f in actor.facilities for h in facility_history(f)}
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


def _revealed_subject(tx: Tx, row: StoredRecord) -> tuple[dict[str, Any], list[str]]:
    """A stored record's subject, revealed with the Disclosures the node keeps when it is
    confidential, and those Disclosures (none for a plain record)."""
    subject: dict[str, Any] = parse_json(row.body)["credentialSubject"]
    if not is_redacted(subject):
        return subject, []
    disclosures = tx.disclosures_of(row.hash)
    return reveal_subject(row.kind, subject, disclosures), disclosures


def _with_key_history(tx: Tx, rows: dict[str, StoredRecord], operator: str) -> None:
    """Add to ``rows`` the registration and key history of every actor its records name (the
    replay's rules need transfer buyers, verifiers and certified actors registered) and then of
    every issuer, the operator's included (key-history records are the operator's)."""
    named = {r.issuer for r in rows.values()}
    for r in list(rows.values()):
        named |= _dids_in(_revealed_subject(tx, r)[0])
    _add(tx, rows, _key_history(tx, {d for d in named if tx.actor(d) is not None}, operator))
    _add(tx, rows, _key_history(tx, {r.issuer for r in rows.values()}, operator))


def _add(tx: Tx, rows: dict[str, StoredRecord], hashes: set[str]) -> None:
    for h in hashes - rows.keys():
        row = tx.record_by_hash(h)
        if row is None:
            raise BundleError(f"record {h} is missing from the ledger")
        rows[h] = row


def _proof(tx: Tx, leaf: int, size: int) -> list[str]:
    return [translog.b64(p) for p in translog.inclusion(tx, leaf, size)]


def build_bundle(ledger: Ledger, identifier: str, *, access_role: str = "public") -> dict[str, Any]:
    """The offline verification bundle of a passport, as ``access_role`` may see it; the
    authority's carries the confidential records' Disclosures (see the module docstring)."""
    passport_id = resolve(ledger, identifier)
    view = show_passport(ledger, passport_id, access_role, with_receipts=False)
    info = ledger.info()
    subject = view.passport_record["credentialSubject"]
    committed = subject["checkpoint"]
    with ledger.repo.read() as tx:
        state = tx.passports().get(passport_id)
        if state is None:
            raise NotFoundError(f"no passport {passport_id}")
        closure = provenance_closure(tx, subject["pack"]["lot"])
        hashes = set(closure)
        hashes.add(state.record_hash)
        hashes |= {e.record_hash for e in tx.passports().events(passport_id)}
        hashes |= set(view.committed_by.values())
        rows = tx.records_by_hashes(sorted(hashes))
        missing = hashes - rows.keys()
        if missing:
            raise BundleError(f"records {sorted(missing)[:3]} are missing from the ledger")
        _with_key_history(tx, rows, info.operator_did)
        cp = tx.latest_checkpoint()
        passport_cp = tx.checkpoint(committed["size"])
        if cp is None or passport_cp is None:
            raise BundleError("the log has no checkpoint covering the passport")
        ordered = sorted(rows.values(), key=lambda r: r.leaf_index)
        entries = [
            {
                "record": parse_json(r.body),
                "leafIndex": r.leaf_index,
                "acceptedAt": r.accepted_at,
                "inclusionProof": _proof(tx, r.leaf_index, cp.size),
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
            "inclusionProof": _proof(tx, last.leaf_index, cp.size),
        }
        consistency = (
            [translog.b64(p) for p in translog.consistency(tx, passport_cp.size, cp.size)]
            if passport_cp.size < cp.size
            else []
        )
        extra: dict[str, Any] = {}
        if "provenance" in subject:
            # The committed set, listed so that a verifier names a record missing or added.
            extra["provenanceSet"] = cut_at_checkpoint(closure, rows, committed["size"])
        if access_role in DISCLOSING_ROLES:
            extra["disclosures"] = {
                r.hash: d for r in ordered if (d := _revealed_subject(tx, r)[1])
            }
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
        **extra,
    }
