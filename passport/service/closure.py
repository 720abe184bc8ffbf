"""A pack's provenance closure, read from the ledger's trace tables: the one place both issuing
a passport (its completeness commitment) and building its bundle compute it. The set a passport
commits to is defined in :mod:`passport.verify.provenance_set`.
"""

from __future__ import annotations

from collections.abc import Mapping

from passport.errors import BundleError
from passport.store.rows import StoredRecord
from passport.store.sql.repository import Tx
from passport.verify.provenance_set import in_committed_set, sorted_set

__all__ = ["committed_provenance", "cut_at_checkpoint", "provenance_closure"]


def provenance_closure(tx: Tx, lot_id: str) -> set[str]:
    """Record hashes of the lot's full upstream: creating steps (through recycled inputs too),
    transfers of those lots and their acceptances, attestations about those lots and their
    makers and the retractions of those attestations, whatever their leaf."""
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


def committed_provenance(tx: Tx, lot_id: str, checkpoint_size: int) -> list[str]:
    """The set a passport of ``lot_id`` committing to a checkpoint of ``checkpoint_size``
    commits to, sorted (:func:`cut_at_checkpoint` of the closure taken now)."""
    closure = provenance_closure(tx, lot_id)
    rows = tx.records_by_hashes(sorted(closure))
    return cut_at_checkpoint(closure, rows, checkpoint_size)


def cut_at_checkpoint(
    closure: set[str], rows: Mapping[str, StoredRecord], checkpoint_size: int
) -> list[str]:
    """The records of ``closure`` (read in ``rows``) in the committed set of a passport at a
    checkpoint of ``checkpoint_size`` (:func:`passport.verify.provenance_set.in_committed_set`),
    sorted. A record of the closure accepted later (a later transfer, acceptance, attestation
    or retraction) is not in it: the closure taken now and cut at the checkpoint is the closure
    as of then, since each of its records is reached only through records accepted before it."""
    missing = closure - rows.keys()
    if missing:
        raise BundleError(f"records {sorted(missing)[:3]} are missing from the ledger")
    return sorted_set(
        h for h in closure if in_committed_set(rows[h].kind, rows[h].leaf_index, checkpoint_size)
    )
