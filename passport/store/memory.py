"""A ledger state held in memory, for replaying a bundle's provenance (``passport.verify.bundle``).

A bundle's check 8 runs the ledger's own rules (``passport.ledger.accept.accept_record`` and the
kinds' handlers) on the bundle's records, and check 9 rolls the pack up from what they wrote. Those
rules only ever see storage through :class:`passport.store.state.StateTx` and
:class:`~passport.store.state.TraceStateTx`, so the replay gives them :class:`MemoryTx`, whose
:meth:`MemoryTx.trace` is a :class:`MemoryTraceTx`: the same methods over dictionaries instead
of tables, and no database library imported. A throw-away database did the same job at several
times the cost (each record's rules issue five or six statements, and a statement costs more
than the rule it serves); no rule is written twice, only the storage.

What each method returns is what its SQL counterpart returns: the same rows, in the same order,
with the normalisations the tables make (element contents become the five ``ppm_*`` columns, so
unknown or zero contents drop out; lots read without credits or through ``lots_with_steps`` have
empty credits). ``tests/trace_chain.py`` mirrors every traceability test's records into a
:class:`MemoryTx` and requires the same verdict for each and the same state at the end, on both
database backends.

Only the ledger's provenance state is kept: records, actors, keys and the trace tables, which is
all :class:`~passport.store.state.StateTx` offers. The log, metadata, checkpoints, challenges
and passports are not (a bundle's replay skips the passport kinds). A rule that broke the
store's own invariants (a duplicate primary key) raises :class:`NotKeptInMemoryError`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NoReturn

from passport.errors import NotKeptInMemoryError
from passport.store.rows import StoredActor, StoredKey, StoredRecord
from passport.store.state import StateTx, TraceStateTx
from passport.store.trace_rows import (
    ELEMENT_ORDER,
    AttestationRow,
    InputRow,
    LotRow,
    StepRow,
    TransferRow,
)

__all__ = ["MemoryTraceTx", "MemoryTx"]


def _contents(elements: dict[str, int]) -> dict[str, int]:
    """Element contents as the ``ppm_*`` columns give them back: known elements, in column
    order, zeros left out."""
    get = elements.get
    return {e: int(v) for e in ELEMENT_ORDER if (v := get(e))}


def _duplicate(table: str, key: object) -> NoReturn:
    raise NotKeptInMemoryError(f"duplicate primary key {key!r} in {table}: a rule let it through")


class MemoryTx(StateTx):
    """A write transaction over an empty ledger state in memory (see the module docstring).

    Actors and keys live in the caches :class:`StateTx` keeps for every transaction, which here
    are the whole truth: nothing is ever flushed anywhere.
    """

    def __init__(self) -> None:
        super().__init__(writable=True)
        self._records: dict[str, StoredRecord] = {}
        self._by_position: dict[tuple[str, int], str] = {}
        self._trace = MemoryTraceTx()

    def trace(self) -> MemoryTraceTx:
        """This state's trace tables."""
        return self._trace

    def flush(self) -> None:
        """Nothing to write: the caches are the state."""
        self._new_actors.clear()
        self._moved_heads.clear()
        self._moved_facilities.clear()
        self._new_keys.clear()
        self._changed_keys.clear()

    def prefetch(self, dids: Iterable[str], multikeys: Iterable[str]) -> None:
        """Nothing to load."""

    # -- records ----------------------------------------------------------------------------
    def stage_record(self, row: StoredRecord) -> None:
        """Store an accepted record at once (there is no batch insert to wait for)."""
        self.insert_records([row])

    def record_by_hash(self, record_hash: str) -> StoredRecord | None:
        """The record with this hash, if stored."""
        return self._records.get(record_hash)

    def records_by_hashes(self, hashes: Sequence[str]) -> dict[str, StoredRecord]:
        """Stored records among ``hashes``, keyed by hash."""
        return {h: self._records[h] for h in hashes if h in self._records}

    def record_by_issuer_sequence(self, issuer: str, sequence: int) -> StoredRecord | None:
        """The issuer's record at ``sequence``, if any."""
        found = self._by_position.get((issuer, sequence))
        return None if found is None else self._records[found]

    def count_records(self) -> int:
        """Number of stored records."""
        return len(self._records)

    def insert_records(self, rows: Sequence[StoredRecord]) -> None:
        """Store accepted records."""
        for r in rows:
            if r.hash in self._records or (r.issuer, r.sequence) in self._by_position:
                _duplicate("records", r.hash)
            self._records[r.hash] = r
            self._by_position[(r.issuer, r.sequence)] = r.hash

    # -- actors and keys --------------------------------------------------------------------
    def _load_actor(self, did: str) -> StoredActor | None:
        return None  # the cache is the whole state: what it lacks does not exist

    def _load_key(self, multikey: str) -> StoredKey | None:
        return None

    def actors(self) -> list[StoredActor]:
        """All registered actors, by DID."""
        return sorted((a for a in self._actors.values() if a is not None), key=lambda a: a.did)

    def insert_actor(self, actor: StoredActor) -> None:
        """Register an actor."""
        if self._actors.get(actor.did) is not None:
            _duplicate("actors", actor.did)
        super().insert_actor(actor)

    def keys_of(self, did: str) -> list[StoredKey]:
        """All keys an actor has had, oldest first (ties in the order they were added)."""
        return sorted(
            (k for k in self._keys.values() if k is not None and k.actor_did == did),
            key=lambda k: k.added_at,
        )

    def all_keys(self) -> list[StoredKey]:
        """Every key of every actor."""
        return [k for k in self._keys.values() if k is not None]

    def insert_key(self, key: StoredKey) -> None:
        """Add a key to an actor."""
        if self._keys.get(key.multikey) is not None:
            _duplicate("actor_keys", key.multikey)
        super().insert_key(key)


class MemoryTraceTx(TraceStateTx):
    """The trace tables of a :class:`MemoryTx` (see the module docstring): every method of
    :class:`TraceStateTx`, over dictionaries indexed as the tables are."""

    def __init__(self) -> None:
        # No reference back to the MemoryTx, which would make a cycle that only the cyclic
        # collector frees (reference counting frees the whole state when the replay is done).
        self._lots: dict[str, LotRow] = {}
        self._lots_by_record: dict[str, list[str]] = defaultdict(list)
        self._holdings: dict[str, dict[str, int]] = {}  # lot -> holder -> grams
        self._steps: dict[str, StepRow] = {}
        self._inputs: dict[str, dict[str, InputRow]] = {}  # step -> lot -> edge
        self._consumers: dict[str, dict[str, InputRow]] = defaultdict(dict)  # lot -> step -> edge
        self._transfers: dict[str, TransferRow] = {}
        self._transfers_by_lot: dict[str, list[str]] = defaultdict(list)
        self._attestations: dict[str, AttestationRow] = {}
        self._attestations_by_lot: dict[str, list[str]] = defaultdict(list)
        self._attestations_by_actor: dict[str, list[str]] = defaultdict(list)

    def lots_with_steps(self, lot_ids: Iterable[str]) -> dict[str, tuple[LotRow, StepRow]]:
        """Lots (without credits) with the steps that created them; lots no step created are
        left out, as the join leaves them out."""
        out: dict[str, tuple[LotRow, StepRow]] = {}
        lots, steps = self._lots, self._steps
        for lot_id in sorted(set(lot_ids)):  # key order, as the indexed query returns them
            lot = lots.get(lot_id)
            if lot is None:
                continue
            step = steps.get(lot.record_hash)
            if step is None:
                continue
            out[lot_id] = (
                LotRow(
                    lot_id,
                    step.record_hash,
                    step.issuer,
                    step.facility_id,
                    lot.mass_grams,
                    lot.elements,
                    step.custody,
                    lot.origin_key,
                    lot.claims,
                    {},
                    lot.consumed_grams,
                    lot.created_at,
                ),
                step,
            )
        return out

    # -- lots and holdings ------------------------------------------------------------------
    def lots(self, lot_ids: Iterable[str], *, with_credits: bool = True) -> dict[str, LotRow]:
        """Lots among ``lot_ids``, keyed by id."""
        out: dict[str, LotRow] = {}
        for lot_id in sorted(set(lot_ids)):
            lot = self._lots.get(lot_id)
            if lot is not None:
                out[lot_id] = lot if with_credits else _without_credits(lot)
        return out

    def lot(self, lot_id: str) -> LotRow | None:
        """One lot by id."""
        return self._lots.get(lot_id)

    def lots_created_by(self, record_hash: str) -> list[LotRow]:
        """The lots a step created, in id order."""
        return [self._lots[i] for i in sorted(self._lots_by_record.get(record_hash, ()))]

    def insert_lots(self, rows: Sequence[LotRow]) -> None:
        """Create lots."""
        for r in rows:
            if r.lot_id in self._lots:
                _duplicate("trace_lots", r.lot_id)
            self._lots[r.lot_id] = LotRow(
                r.lot_id, r.record_hash, r.issuer, r.facility_id, r.mass_grams,
                _contents(r.elements), r.custody, r.origin_key, r.claims, r.credits,
                r.consumed_grams, r.created_at,
            )  # fmt: skip
            self._lots_by_record[r.record_hash].append(r.lot_id)

    def consume(self, holder: str, taken: Sequence[tuple[str, int]]) -> None:
        """Take ``grams`` of each ``(lot, grams)`` from ``holder`` and add them to the lot's
        consumed total (a holding or lot that does not exist is left alone, as an UPDATE
        matching no row does)."""
        for lot_id, grams in taken:
            holding = self._holdings.get(lot_id)
            if holding is not None and holder in holding:
                holding[holder] -= grams
            lot = self._lots.get(lot_id)
            if lot is not None:
                self._lots[lot_id] = LotRow(
                    lot.lot_id, lot.record_hash, lot.issuer, lot.facility_id, lot.mass_grams,
                    lot.elements, lot.custody, lot.origin_key, lot.claims, lot.credits,
                    lot.consumed_grams + grams, lot.created_at,
                )  # fmt: skip

    def holdings(self, lot_ids: Iterable[str], holder: str) -> dict[str, int]:
        """Grams of each lot held by ``holder``; lots it never held are absent."""
        out: dict[str, int] = {}
        for lot_id in sorted(set(lot_ids)):
            held = self._holdings.get(lot_id, {}).get(holder)
            if held is not None:
                out[lot_id] = held
        return out

    def holders(self, lot_id: str) -> dict[str, int]:
        """Every holder of a lot and its grams (zero for former holders)."""
        return dict(self._holdings.get(lot_id, {}))

    def downstream_parties(self, lot_id: str) -> set[str]:
        """Every actor downstream of a lot (the SQL store's recursive query, walked here)."""
        parties: set[str] = set()
        seen = {lot_id}
        frontier = [lot_id]
        while frontier:
            for step_hash in self._consumers.get(frontier.pop(), {}):
                step = self._steps.get(step_hash)
                if step is not None:
                    parties.add(step.issuer)
                for made in self._lots_by_record.get(step_hash, []):
                    if made not in seen:
                        seen.add(made)
                        frontier.append(made)
                        parties |= set(self._holdings.get(made, {}))
        return parties

    def new_holdings(self, holdings: Sequence[tuple[str, str, int]]) -> None:
        """Holdings ``(lot, holder, grams)`` of lots created in this transaction."""
        for lot_id, holder, grams in holdings:
            held = self._holdings.setdefault(lot_id, {})
            if holder in held:
                _duplicate("trace_holdings", (lot_id, holder))
            held[holder] = int(grams)

    def change_holding(self, lot_id: str, holder: str, delta: int) -> None:
        """Add ``delta`` grams to a holding, creating it if needed."""
        held = self._holdings.setdefault(lot_id, {})
        held[holder] = held.get(holder, 0) + delta

    # -- steps and edges --------------------------------------------------------------------
    def steps(self, hashes: Iterable[str]) -> dict[str, StepRow]:
        """Steps among ``hashes``, keyed by record hash."""
        return {h: self._steps[h] for h in sorted(set(hashes)) if h in self._steps}

    def step(self, record_hash: str) -> StepRow | None:
        """One step by record hash."""
        return self._steps.get(record_hash)

    def insert_step(self, row: StepRow) -> None:
        """Record a step."""
        if row.record_hash in self._steps:
            _duplicate("trace_steps", row.record_hash)
        self._steps[row.record_hash] = row

    def inputs_of(self, step_hashes: Iterable[str]) -> dict[str, list[InputRow]]:
        """Input edges of the given steps, keyed by step hash, each list in lot-id order (steps
        without edges are absent)."""
        out: dict[str, list[InputRow]] = {}
        for h in sorted(set(step_hashes)):
            edges = self._inputs.get(h)
            if edges:
                out[h] = [edges[lot] for lot in sorted(edges)]
        return out

    def consumers_of(self, lot_id: str) -> list[InputRow]:
        """Edges that consumed a lot, in step-hash order."""
        edges = self._consumers.get(lot_id, {})
        return [edges[h] for h in sorted(edges)]

    def insert_inputs(self, rows: Sequence[InputRow]) -> None:
        """Record input edges."""
        for r in rows:
            edges = self._inputs.setdefault(r.step_hash, {})
            if r.lot_id in edges:
                _duplicate("trace_inputs", (r.step_hash, r.lot_id))
            edge = InputRow.make(
                r.step_hash, r.lot_id, r.lot_record, int(r.grams), r.recycled, _contents(r.ppm)
            )
            edges[r.lot_id] = edge
            self._consumers[r.lot_id][r.step_hash] = edge

    # -- transfers --------------------------------------------------------------------------
    def transfer(self, record_hash: str) -> TransferRow | None:
        """A Transfer by its record hash."""
        return self._transfers.get(record_hash)

    def transfers_of_lot(self, lot_id: str) -> list[TransferRow]:
        """Every transfer of a lot, oldest first."""
        rows = [self._transfers[h] for h in self._transfers_by_lot.get(lot_id, ())]
        return sorted(rows, key=lambda t: (t.created_at, t.record_hash))

    def insert_transfer(self, row: TransferRow) -> None:
        """Record a pending transfer."""
        if row.record_hash in self._transfers:
            _duplicate("trace_transfers", row.record_hash)
        self._transfers[row.record_hash] = row
        self._transfers_by_lot[row.lot_id].append(row.record_hash)

    def settle_transfer(self, record_hash: str, status: str, settled_by: str) -> None:
        """Mark a transfer accepted or rejected."""
        t = self._transfers.get(record_hash)
        if t is not None:
            s = (status, settled_by)
            self._transfers[record_hash] = TransferRow(
                t.record_hash, t.lot_id, t.seller, t.buyer, t.grams, *s, t.created_at
            )

    # -- attestations -----------------------------------------------------------------------
    def attestation(self, record_hash: str) -> AttestationRow | None:
        """An attestation by record hash."""
        return self._attestations.get(record_hash)

    def insert_attestation(self, row: AttestationRow) -> None:
        """Record an attestation."""
        if row.record_hash in self._attestations:
            _duplicate("trace_attestations", row.record_hash)
        self._attestations[row.record_hash] = row
        if row.subject_lot is not None:
            self._attestations_by_lot[row.subject_lot].append(row.record_hash)
        if row.subject_actor is not None:
            self._attestations_by_actor[row.subject_actor].append(row.record_hash)

    def retract(self, record_hash: str, by: str, at: str, effect: str, reason: str) -> None:
        """Mark an attestation retracted."""
        a = self._attestations.get(record_hash)
        if a is not None:
            values = {f: getattr(a, f) for f in AttestationRow.__dataclass_fields__}
            values.update(
                retracted_by=by, retracted_at=at, retraction_effect=effect, retraction_reason=reason
            )
            self._attestations[record_hash] = AttestationRow(**values)

    def attestations_about(
        self,
        *,
        lots: Iterable[str] = (),
        actors: Iterable[str] = (),
        kinds: Sequence[str] | None = None,
    ) -> list[AttestationRow]:
        """Attestations about ``lots`` or ``actors`` (see :class:`TraceStateTx`), from the
        by-lot and by-actor indexes."""
        wanted = None if kinds is None else {k for k in kinds if k.isalpha()}
        found: dict[str, AttestationRow] = {}
        by_lot, by_actor = self._attestations_by_lot, self._attestations_by_actor
        for index, keys in ((by_lot, lots), (by_actor, actors)):
            for key in keys:
                for h in index.get(key, ()):
                    a = self._attestations[h]
                    if wanted is None or a.kind in wanted:
                        found[h] = a
        return sorted(found.values(), key=lambda a: a.leaf_index)


def _without_credits(lot: LotRow) -> LotRow:
    """A copy of ``lot`` with empty credits, as a lot read without its credits column."""
    return LotRow(
        lot.lot_id, lot.record_hash, lot.issuer, lot.facility_id, lot.mass_grams, lot.elements,
        lot.custody, lot.origin_key, lot.claims, {}, lot.consumed_grams, lot.created_at,
    )  # fmt: skip
