"""What the ledger's rules may ask of storage, and nothing more: the transaction interfaces the
append rules (:func:`passport.ledger.accept.accept_record` and the kinds' handlers) and the roll-ups
(:mod:`passport.trace.rollup`) run against.

Two stores implement them: the database (:class:`passport.store.sql.repository.Tx` and
:class:`passport.store.sql.trace.TraceTx`, in SQL) and a ledger state held in memory for a
bundle's replay (:mod:`passport.store.memory`). Rules annotated with :class:`StateTx` can only
call what both stores answer, and mypy checks it; offline verification imports no database
library, because nothing here or in the memory store needs one.

:class:`StateTx` also holds what the stores share: actors and keys read or written through a
transaction are remembered for the rest of it (the append pipeline asks for the same issuer and
key record after record), and their writes are held back for :meth:`StateTx.flush`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

from passport.store.passport_rows import (
    DisclosureGrantRow,
    PassportEventRow,
    PassportState,
    StoredPartition,
)
from passport.store.rows import StoredActor, StoredCheckpoint, StoredKey, StoredRecord
from passport.store.trace_rows import AttestationRow, InputRow, LotRow, StepRow, TransferRow

__all__ = ["KEY_STATE", "PassportStateTx", "StateTx", "TraceStateTx"]

KEY_STATE = frozenset({"state", "retired_at", "retired_by", "compromised_from"})
"""The columns of a key that change after it is added (rotation, revocation)."""


class StateTx(ABC):
    """A transaction over the ledger's provenance state: records, actors, keys and the trace
    tables (see the module docstring). Writes are only allowed on a write transaction."""

    def __init__(self, *, writable: bool) -> None:
        self.writable = writable
        self._actors: dict[str, StoredActor | None] = {}
        self._keys: dict[str, StoredKey | None] = {}
        self._new_actors: dict[str, StoredActor] = {}  # inserted, not yet written
        self._moved_heads: set[str] = set()  # stored actors whose chain head moved
        self._moved_facilities: set[str] = set()  # stored actors whose facilities changed
        self._new_keys: dict[str, StoredKey] = {}
        self._changed_keys: set[str] = set()  # stored keys whose state changed

    # -- what a store supplies ------------------------------------------------------------
    @abstractmethod
    def _load_actor(self, did: str) -> StoredActor | None:
        """The stored actor with this DID (the cache missed)."""

    @abstractmethod
    def _load_key(self, multikey: str) -> StoredKey | None:
        """The stored key with this multikey (the cache missed)."""

    @abstractmethod
    def trace(self) -> TraceStateTx:
        """The traceability queries of this transaction. Rules ask for them here, never build
        them, so that each store answers with its own."""

    def passports(self) -> PassportStateTx | None:
        """The passport tables of this transaction, or None where the store keeps none (a
        bundle's replay in memory, which skips the passport kinds)."""
        return None

    @abstractmethod
    def flush(self) -> None:
        """Write the held-back actor and key changes."""

    @abstractmethod
    def prefetch(self, dids: Iterable[str], multikeys: Iterable[str]) -> None:
        """Load the named actors and keys into the cache (absent ones too), to save lookups."""

    @abstractmethod
    def stage_record(self, row: StoredRecord) -> None:
        """A record accepted earlier in this transaction: :meth:`record_by_hash` finds it
        from now on (a rule about a later record of a batch may read it)."""

    @abstractmethod
    def record_by_hash(self, record_hash: str) -> StoredRecord | None:
        """The record with this hash, if stored (or staged in this transaction)."""

    @abstractmethod
    def records_by_hashes(self, hashes: Sequence[str]) -> dict[str, StoredRecord]:
        """Stored records among ``hashes``, keyed by hash."""

    @abstractmethod
    def record_by_issuer_sequence(self, issuer: str, sequence: int) -> StoredRecord | None:
        """The issuer's record at ``sequence``, if any."""

    @abstractmethod
    def count_records(self) -> int:
        """Number of stored records."""

    @abstractmethod
    def insert_records(self, rows: Sequence[StoredRecord]) -> None:
        """Store accepted records (write transaction)."""

    @abstractmethod
    def actors(self) -> list[StoredActor]:
        """All registered actors, by DID."""

    @abstractmethod
    def keys_of(self, did: str) -> list[StoredKey]:
        """All keys an actor has had, oldest first."""

    @abstractmethod
    def all_keys(self) -> list[StoredKey]:
        """Every key of every actor."""

    # -- actors and keys, through the cache -----------------------------------------------
    def actor(self, did: str) -> StoredActor | None:
        """The registered actor with this DID."""
        if did in self._actors:
            return self._actors[did]
        actor = self._actors[did] = self._load_actor(did)
        return actor

    def insert_actor(self, actor: StoredActor) -> None:
        """Register an actor (written at the next :meth:`flush`)."""
        self._actors[actor.did] = actor
        self._new_actors[actor.did] = actor

    def set_actor_head(self, did: str, sequence: int, record_hash: str) -> None:
        """Advance an actor's chain head (written at the next :meth:`flush`)."""
        cached = self.actor(did)
        if cached is None:
            return
        moved = StoredActor(
            cached.did,
            cached.name,
            cached.country,
            cached.roles,
            cached.facilities,
            cached.registration,
            sequence,
            record_hash,
        )
        self._actors[did] = moved
        if did in self._new_actors:
            self._new_actors[did] = moved
        else:
            self._moved_heads.add(did)

    def set_actor_facilities(self, did: str, facilities: tuple[dict[str, Any], ...]) -> None:
        """Replace an actor's facilities (a FacilityUpdate; written at the next :meth:`flush`)."""
        cached = self.actor(did)
        if cached is None:
            return
        changed = cached._replace(facilities=facilities)
        self._actors[did] = changed
        if did in self._new_actors:
            self._new_actors[did] = changed
        else:
            self._moved_facilities.add(did)

    def key(self, multikey: str) -> StoredKey | None:
        """The key with this multikey."""
        if multikey in self._keys:
            return self._keys[multikey]
        key = self._keys[multikey] = self._load_key(multikey)
        return key

    def insert_key(self, key: StoredKey) -> None:
        """Add a key to an actor (written at the next :meth:`flush`)."""
        self._keys[key.multikey] = key
        self._new_keys[key.multikey] = key

    def update_key(self, multikey: str, **values: Any) -> None:
        """Change a key's state (rotation, revocation; written at the next :meth:`flush`)."""
        unknown = values.keys() - KEY_STATE
        if unknown:
            raise ValueError(f"not a key state column: {sorted(unknown)}")
        cached = self.key(multikey)
        if cached is None:
            return
        changed = cached._replace(**values)
        self._keys[multikey] = changed
        if multikey in self._new_keys:
            self._new_keys[multikey] = changed
        else:
            self._changed_keys.add(multikey)


class TraceStateTx(ABC):
    """The traceability tables inside one transaction (writes only on a write transaction):
    lots, holdings, steps, input edges, transfers and attestations."""

    # -- lots and holdings ------------------------------------------------------------------
    @abstractmethod
    def lots_with_steps(self, lot_ids: Iterable[str]) -> dict[str, tuple[LotRow, StepRow]]:
        """Lots (without credits) together with the steps that created them; lots no step
        created are left out."""

    @abstractmethod
    def lots(self, lot_ids: Iterable[str], *, with_credits: bool = True) -> dict[str, LotRow]:
        """Lots among ``lot_ids``, keyed by id (without credits: empty ones)."""

    @abstractmethod
    def lot(self, lot_id: str) -> LotRow | None:
        """One lot by id."""

    @abstractmethod
    def lots_created_by(self, record_hash: str) -> list[LotRow]:
        """The lots a step created, in id order."""

    @abstractmethod
    def insert_lots(self, rows: Sequence[LotRow]) -> None:
        """Create lots."""

    @abstractmethod
    def consume(self, holder: str, taken: Sequence[tuple[str, int]]) -> None:
        """Take ``grams`` of each ``(lot, grams)`` from ``holder``'s holding and add them to the
        lot's consumed total. The caller has checked that ``holder`` holds each lot and enough
        of it, and that no lot repeats."""

    @abstractmethod
    def holdings(self, lot_ids: Iterable[str], holder: str) -> dict[str, int]:
        """Grams of each lot held by ``holder``; lots it never held are absent."""

    @abstractmethod
    def holders(self, lot_id: str) -> dict[str, int]:
        """Every holder of a lot and its grams (zero for former holders)."""

    @abstractmethod
    def downstream_parties(self, lot_id: str) -> set[str]:
        """Every actor downstream of a lot: the issuers of the steps that consumed it or a lot
        made from it (at any depth), and the present and former holders of the lots made from
        it (for the read policy, ``passport.document.access.may_read_lot``)."""

    @abstractmethod
    def new_holdings(self, holdings: Sequence[tuple[str, str, int]]) -> None:
        """Holdings ``(lot, holder, grams)`` of lots created in this transaction."""

    @abstractmethod
    def change_holding(self, lot_id: str, holder: str, delta: int) -> None:
        """Add ``delta`` grams to a holding, creating it if needed (callers check the balance)."""

    # -- steps and edges --------------------------------------------------------------------
    @abstractmethod
    def steps(self, hashes: Iterable[str]) -> dict[str, StepRow]:
        """Extraction/Transformation steps among ``hashes``, keyed by record hash."""

    @abstractmethod
    def step(self, record_hash: str) -> StepRow | None:
        """One step by record hash."""

    @abstractmethod
    def insert_step(self, row: StepRow) -> None:
        """Record a step."""

    @abstractmethod
    def inputs_of(self, step_hashes: Iterable[str]) -> dict[str, list[InputRow]]:
        """Input edges of the given steps, keyed by step hash, each list in lot-id order."""

    @abstractmethod
    def consumers_of(self, lot_id: str) -> list[InputRow]:
        """Edges that consumed a lot, by step hash (the downstream view)."""

    @abstractmethod
    def insert_inputs(self, rows: Sequence[InputRow]) -> None:
        """Record input edges."""

    # -- transfers --------------------------------------------------------------------------
    @abstractmethod
    def transfer(self, record_hash: str) -> TransferRow | None:
        """A Transfer by its record hash."""

    @abstractmethod
    def transfers_of_lot(self, lot_id: str) -> list[TransferRow]:
        """Every transfer of a lot, oldest first."""

    @abstractmethod
    def insert_transfer(self, row: TransferRow) -> None:
        """Record a pending transfer."""

    @abstractmethod
    def settle_transfer(self, record_hash: str, status: str, settled_by: str) -> None:
        """Mark a transfer accepted or rejected."""

    # -- attestations -----------------------------------------------------------------------
    @abstractmethod
    def attestation(self, record_hash: str) -> AttestationRow | None:
        """An attestation by record hash."""

    @abstractmethod
    def insert_attestation(self, row: AttestationRow) -> None:
        """Record an attestation."""

    @abstractmethod
    def retract(self, record_hash: str, by: str, at: str, effect: str, reason: str) -> None:
        """Mark an attestation retracted (the attestation's own record is never changed)."""

    @abstractmethod
    def attestations_about(
        self,
        *,
        lots: Iterable[str] = (),
        actors: Iterable[str] = (),
        kinds: Sequence[str] | None = None,
    ) -> list[AttestationRow]:
        """Attestations whose subject is one of ``lots`` or names one of ``actors`` (facility or
        actor subjects), optionally of some kinds; in acceptance order."""


class PassportStateTx(ABC):
    """What the passport's rules and readers may ask of the passport tables."""

    @abstractmethod
    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        """The log's signed checkpoint of this size (a passport commits to one)."""

    @abstractmethod
    def get(self, passport_id: str) -> PassportState | None:
        """The passport with this identifier."""

    @abstractmethod
    def by_battery(self, battery_id: str) -> list[PassportState]:
        """Every passport of a battery identifier, oldest first."""

    @abstractmethod
    def by_pack_lot(self, lot: str) -> list[PassportState]:
        """Every passport issued for a pack lot, oldest first."""

    @abstractmethod
    def successors_of(self, passport_id: str) -> list[PassportState]:
        """Passports that name ``passport_id`` as their predecessor."""

    @abstractmethod
    def all_passports(self, limit: int = 100, offset: int = 0) -> list[PassportState]:
        """Passports ordered by issue time."""

    @abstractmethod
    def insert(self, state: PassportState) -> None:
        """Add a passport (inside the append transaction of its record)."""

    @abstractmethod
    def save(self, state: PassportState) -> None:
        """Write back a passport's changed state."""

    @abstractmethod
    def partition(self, partition_hash: str) -> StoredPartition | None:
        """A stored partition by its hash."""

    @abstractmethod
    def partitions_of(self, passport_id: str) -> list[StoredPartition]:
        """Every partition ever stored for a passport (point 4 has one per update)."""

    @abstractmethod
    def insert_partitions(self, rows: Sequence[StoredPartition]) -> None:
        """Store signed partitions."""

    @abstractmethod
    def add_event(self, event: PassportEventRow) -> None:
        """Record that a ledger record concerns a passport."""

    @abstractmethod
    def events(self, passport_id: str) -> list[PassportEventRow]:
        """The passport's records in log order."""

    # -- disclosure grants (issue #21; passport/document/disclosure_grants.py) --------------------
    @abstractmethod
    def insert_disclosure_grant(self, row: DisclosureGrantRow) -> None:
        """Store an accepted ``DisclosureGrant``."""

    @abstractmethod
    def disclosure_grant(self, record_hash: str) -> DisclosureGrantRow | None:
        """The grant made by this record, if any."""

    @abstractmethod
    def end_disclosure_grant(self, record_hash: str, ended_by: str, ended_at: str) -> None:
        """Mark a grant retracted by the Retraction ``ended_by`` accepted at ``ended_at``."""

    @abstractmethod
    def disclosure_grants(self, issuer: str, grantee: str) -> list[DisclosureGrantRow]:
        """Every grant ``issuer`` made to ``grantee`` (ended ones included), by ``validFrom``."""
