"""Reading provenance under the one access policy (issue #21 point 3): a lot's roll-up and its
trails, an actor's facilities.

The facts come from the ledger per request (the reader's roles now, the lot's creator, holders
and downstream parties, which trail records are confidential); every decision is
:mod:`passport.document.access`'s. The API's routes, the HTTP client and the CLI with
``--server`` all read through here; the operator reading its own database (``--db``/``--home``)
does not (:func:`operator_rollup`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from passport.document.access import (
    LotAccessFacts,
    Reader,
    decide_lot,
    is_authority,
    may_read_facilities,
    may_read_lot,
    may_read_trail_entry,
)
from passport.errors import NotFoundError
from passport.ledger.pipeline import Ledger
from passport.service.disclosures import disclosure_facts
from passport.store.rows import StoredActor, StoredKey
from passport.store.sql.repository import Tx
from passport.trace.config import TraceConfig
from passport.trace.model import Rollup, Trail, TrailEntry
from passport.trace.rollup import compute_rollup

WITHHELD_NOTE = (
    "withheld: a confidential record's lot and amount go to its issuer, its counterparty and "
    "authorities"
)
"""The note of a trail entry the reader may not read (its amount and lot are null)."""


def reader_of(tx: Tx, did: str | None) -> Reader:
    """The reader ``did`` with its ledger roles now (an actor gone from the ledger, or None,
    reads as the public)."""
    actor = tx.actor(did) if did is not None else None
    return Reader(actor.did, tuple(actor.roles)) if actor is not None else Reader()


def lot_access_facts(tx: Tx, lot_id: str, *, downstream: bool = True) -> LotAccessFacts:
    """The facts :func:`passport.document.access.may_read_lot` decides from: the lot and its
    holders (two queries) and, with ``downstream``, everyone downstream (one recursive query).
    :class:`NotFoundError` for an unknown lot."""
    tt = tx.trace()
    lot = tt.lot(lot_id)
    if lot is None:
        raise NotFoundError(f"no lot {lot_id}")
    holders = frozenset(tt.holders(lot_id))  # present and former (zero) holdings
    parties = frozenset(tt.downstream_parties(lot_id)) if downstream else None
    return LotAccessFacts(lot_id, lot.issuer, holders, parties)


def decide_lot_read(tx: Tx, lot_id: str, reader: Reader) -> None:
    """Raise ``LotNotEntitledError`` unless ``reader`` may read the lot's roll-up; the
    downstream query only when the lot's creator and holders did not already decide it. An
    unknown lot is ``NotFoundError`` for an authority only: anyone else is refused alike
    whether the lot exists or not (a confidential output's lot id is no existence oracle)."""
    unknown = LotAccessFacts(lot_id, creator="")
    if reader.did is None:
        decide_lot(reader, unknown)  # anonymous: refused without a query
    try:
        facts = lot_access_facts(tx, lot_id, downstream=False)
    except NotFoundError:
        if is_authority(reader):
            raise
        decide_lot(reader, unknown)
        raise  # not reached: decide_lot refused
    if not may_read_lot(reader, facts):
        parties = frozenset(tx.trace().downstream_parties(lot_id))
        decide_lot(reader, replace(facts, downstream=parties))


@dataclass(frozen=True)
class RollupRead:
    """A roll-up as one reader may read it: its figures and its trails (by figure id, entries
    the reader may not read withheld; empty when trails were not asked for)."""

    rollup: Rollup
    trails: dict[str, Trail]


def read_rollup(
    ledger: Ledger, lot_id: str, reader_did: str | None, *, at: str | None, trails: bool
) -> RollupRead:
    """The lot's roll-up as of ``at`` for ``reader_did`` (None: anonymous), its trails redacted
    per entry; ``LotNotEntitledError`` for a reader the policy does not entitle."""
    with ledger.repo.read() as tx:
        reader = reader_of(tx, reader_did)
        decide_lot_read(tx, lot_id, reader)
    rollup = compute_rollup(ledger.repo, lot_id, at=at)
    if not trails:
        return RollupRead(rollup, {})
    return RollupRead(rollup, redact_trails(ledger, reader, rollup.trails))


def read_trail(
    ledger: Ledger, lot_id: str, figure: str, reader_did: str | None, *, at: str | None
) -> Trail:
    """One figure's trail of the lot's roll-up, redacted for ``reader_did``."""
    with ledger.repo.read() as tx:
        reader = reader_of(tx, reader_did)
        decide_lot_read(tx, lot_id, reader)
    trail = compute_rollup(ledger.repo, lot_id, at=at).explain(figure)
    return redact_trails(ledger, reader, {figure: trail})[figure]


def redact_trails(ledger: Ledger, reader: Reader, trails: dict[str, Trail]) -> dict[str, Trail]:
    """``trails`` with every entry the reader may not read withheld
    (:func:`passport.document.access.may_read_trail_entry`): its record hash and kind stay
    (public), its lot and amount become null and its note says why. Two queries for all the
    trails: which of their records are confidential, and those records' rows."""
    hashes = sorted({e.record for t in trails.values() for e in t.entries})
    hidden = _hidden_records(ledger, reader, hashes)
    if not hidden:
        return trails
    out: dict[str, Trail] = {}
    for figure, trail in trails.items():
        if not any(e.record in hidden for e in trail.entries):
            out[figure] = trail
            continue
        entries = [
            TrailEntry.model_construct(
                record=e.record, kind=e.kind, lot=None, amount=None, note=WITHHELD_NOTE
            )
            if e.record in hidden
            else e
            for e in trail.entries
        ]
        out[figure] = trail.model_copy(update={"entries": entries})
    return out


def _hidden_records(ledger: Ledger, reader: Reader, hashes: Iterable[str]) -> set[str]:
    """The records among ``hashes`` whose trail entries ``reader`` may not read."""
    with ledger.repo.read() as tx:
        confidential = tx.confidential_among(list(hashes))
        if not confidential:
            return set()
        rows = tx.records_by_hashes(sorted(confidential))
        hidden = set()
        for record_hash, row in rows.items():
            # The counterparty is in the revealed subject only for the kinds that name one.
            disclosures = tx.disclosures_of(record_hash) if row.kind == "Transfer" else []
            if not may_read_trail_entry(reader, disclosure_facts(row, disclosures)):
                hidden.add(record_hash)
    return hidden


def operator_rollup(
    ledger: Ledger, lot_id: str, *, at: str | None, config: TraceConfig | None = None
) -> Rollup:
    """The lot's roll-up read straight from the database, trails whole: the operator's own
    access (``bpass trace … --db``), no entitlement decided."""
    return compute_rollup(ledger.repo, lot_id, at=at, config=config)


@dataclass(frozen=True)
class ActorRead:
    """A registered actor as one reader may read it: ``facilities`` None when withheld."""

    actor: StoredActor
    keys: list[StoredKey]
    facilities: list[dict[str, Any]] | None


def read_actor(ledger: Ledger, did: str, reader_did: str | None) -> ActorRead:
    """A registered actor, its keys and, when the reader may read them
    (:func:`passport.document.access.may_read_facilities`), its facilities."""
    with ledger.repo.read() as tx:
        found = tx.actor(did)
        if found is None:
            raise NotFoundError(f"no registered actor {did}")
        keys = tx.keys_of(did)
        reader = reader_of(tx, reader_did)
    shown = [dict(f) for f in found.facilities] if may_read_facilities(reader, did) else None
    return ActorRead(found, keys, shown)
