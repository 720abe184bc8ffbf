"""Queries on the passport tables, inside the repository's transactions (:class:`Tx`).

The repository module stays the one storage interface: these functions only run statements on
the connection of a transaction it opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, select, update
from sqlmodel import SQLModel

import passport.store.passport_tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from passport.store.repository import Tx


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


PASSPORTS = _table("passports")
PARTITIONS = _table("passport_partitions")
EVENTS = _table("passport_events")


@dataclass(frozen=True)
class PassportState:
    """A row of ``passports``: what the ledger's records say about a passport now."""

    passport_id: str
    battery_id: str
    record_hash: str
    issuer: str
    category: str
    status: str
    pack_lot: str | None
    predecessor: str | None
    successor: str | None
    issued_at: str
    last_updated: str
    ceased_at: str | None
    checkpoint_size: int
    point4_hash: str

    @property
    def ceased(self) -> bool:
        """The battery was recycled: the passport has ceased (Art. 77(8))."""
        return self.ceased_at is not None

    @property
    def closed(self) -> bool:
        """Ceased, or superseded by a successor passport: it takes no more changes."""
        return self.ceased or self.successor is not None

    def with_changes(self, **changes: Any) -> PassportState:
        """A copy with some columns changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class StoredPartition:
    """A row of ``passport_partitions``."""

    hash: str
    passport_id: str
    partition: int
    record_hash: str
    body: bytes


@dataclass(frozen=True)
class PassportEventRow:
    """A row of ``passport_events``."""

    passport_id: str
    leaf_index: int
    record_hash: str
    kind: str
    status: str
    accepted_at: str


def _state(row: Any) -> PassportState:
    return PassportState(**{c: getattr(row, c) for c in PassportState.__dataclass_fields__})


def get(tx: Tx, passport_id: str) -> PassportState | None:
    """The passport with this identifier."""
    row = tx.conn.execute(select(PASSPORTS).where(PASSPORTS.c.passport_id == passport_id)).first()
    return _state(row) if row else None


def by_battery(tx: Tx, battery_id: str) -> list[PassportState]:
    """Every passport of a battery identifier, oldest first."""
    rows = tx.conn.execute(
        select(PASSPORTS)
        .where(PASSPORTS.c.battery_id == battery_id)
        .order_by(PASSPORTS.c.issued_at)
    )
    return [_state(r) for r in rows]


def by_pack_lot(tx: Tx, lot: str) -> list[PassportState]:
    """Every passport issued for a pack lot, oldest first."""
    rows = tx.conn.execute(
        select(PASSPORTS).where(PASSPORTS.c.pack_lot == lot).order_by(PASSPORTS.c.issued_at)
    )
    return [_state(r) for r in rows]


def successors_of(tx: Tx, passport_id: str) -> list[PassportState]:
    """Passports that name ``passport_id`` as their predecessor."""
    rows = tx.conn.execute(select(PASSPORTS).where(PASSPORTS.c.predecessor == passport_id))
    return [_state(r) for r in rows]


def all_passports(tx: Tx, limit: int = 100, offset: int = 0) -> list[PassportState]:
    """Passports ordered by issue time."""
    rows = tx.conn.execute(
        select(PASSPORTS)
        .order_by(PASSPORTS.c.issued_at, PASSPORTS.c.passport_id)
        .limit(limit)
        .offset(offset)
    )
    return [_state(r) for r in rows]


def insert(tx: Tx, state: PassportState) -> None:
    """Add a passport (inside the append transaction of its record)."""
    tx.conn.execute(PASSPORTS.insert().values(**state.__dict__))


def save(tx: Tx, state: PassportState) -> None:
    """Write back a passport's changed state."""
    values = {k: v for k, v in state.__dict__.items() if k != "passport_id"}
    tx.conn.execute(
        update(PASSPORTS).where(PASSPORTS.c.passport_id == state.passport_id).values(**values)
    )


def partition(tx: Tx, partition_hash: str) -> StoredPartition | None:
    """A stored partition by its hash."""
    row = tx.conn.execute(select(PARTITIONS).where(PARTITIONS.c.hash == partition_hash)).first()
    if row is None:
        return None
    return StoredPartition(
        row.hash, row.passport_id, row.partition, row.record_hash, bytes(row.body)
    )


def partitions_of(tx: Tx, passport_id: str) -> list[StoredPartition]:
    """Every partition ever stored for a passport (point 4 has one per update)."""
    rows = tx.conn.execute(select(PARTITIONS).where(PARTITIONS.c.passport_id == passport_id))
    return [
        StoredPartition(r.hash, r.passport_id, r.partition, r.record_hash, bytes(r.body))
        for r in rows
    ]


def insert_partitions(tx: Tx, rows: Sequence[StoredPartition]) -> None:
    """Store signed partitions."""
    if rows:
        tx.conn.execute(PARTITIONS.insert(), [r.__dict__ for r in rows])


def add_event(tx: Tx, event: PassportEventRow) -> None:
    """Record that a ledger record concerns a passport."""
    tx.conn.execute(EVENTS.insert().values(**event.__dict__))


def events(tx: Tx, passport_id: str) -> list[PassportEventRow]:
    """The passport's records in log order."""
    rows = tx.conn.execute(
        select(EVENTS).where(EVENTS.c.passport_id == passport_id).order_by(EVENTS.c.leaf_index)
    )
    return [
        PassportEventRow(
            r.passport_id, r.leaf_index, r.record_hash, r.kind, r.status, r.accepted_at
        )
        for r in rows
    ]
