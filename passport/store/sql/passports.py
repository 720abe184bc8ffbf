"""The passport tables in SQL: :class:`PassportTx`, the passport queries of a repository
transaction (:class:`passport.store.state.PassportStateTx`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select, update
from sqlmodel import SQLModel

import passport.store.sql.passport_tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from passport.store.passport_rows import (
    DisclosureGrantRow,
    PassportEventRow,
    PassportState,
    StoredPartition,
)
from passport.store.rows import StoredCheckpoint
from passport.store.state import PassportStateTx

if TYPE_CHECKING:
    from passport.store.sql.repository import Tx


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


PASSPORTS = _table("passports")
PARTITIONS = _table("passport_partitions")
EVENTS = _table("passport_events")
GRANTS = _table("disclosure_grants")


def _state(row: Any) -> PassportState:
    return PassportState(**{c: getattr(row, c) for c in PassportState.__dataclass_fields__})


class PassportTx(PassportStateTx):
    """The passport tables, on the connection of one repository transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn = tx.conn

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        """The log's signed checkpoint of this size."""
        return self.tx.checkpoint(size)

    def get(self, passport_id: str) -> PassportState | None:
        """The passport with this identifier."""
        row = self.conn.execute(
            select(PASSPORTS).where(PASSPORTS.c.passport_id == passport_id)
        ).first()
        return _state(row) if row else None

    def by_battery(self, battery_id: str) -> list[PassportState]:
        """Every passport of a battery identifier, oldest first."""
        rows = self.conn.execute(
            select(PASSPORTS)
            .where(PASSPORTS.c.battery_id == battery_id)
            .order_by(PASSPORTS.c.issued_at)
        )
        return [_state(r) for r in rows]

    def by_pack_lot(self, lot: str) -> list[PassportState]:
        """Every passport issued for a pack lot, oldest first."""
        rows = self.conn.execute(
            select(PASSPORTS).where(PASSPORTS.c.pack_lot == lot).order_by(PASSPORTS.c.issued_at)
        )
        return [_state(r) for r in rows]

    def successors_of(self, passport_id: str) -> list[PassportState]:
        """Passports that name ``passport_id`` as their predecessor."""
        rows = self.conn.execute(select(PASSPORTS).where(PASSPORTS.c.predecessor == passport_id))
        return [_state(r) for r in rows]

    def all_passports(self, limit: int = 100, offset: int = 0) -> list[PassportState]:
        """Passports ordered by issue time."""
        rows = self.conn.execute(
            select(PASSPORTS)
            .order_by(PASSPORTS.c.issued_at, PASSPORTS.c.passport_id)
            .limit(limit)
            .offset(offset)
        )
        return [_state(r) for r in rows]

    def insert(self, state: PassportState) -> None:
        """Add a passport (inside the append transaction of its record)."""
        self.conn.execute(PASSPORTS.insert().values(**state.__dict__))

    def save(self, state: PassportState) -> None:
        """Write back a passport's changed state."""
        values = {k: v for k, v in state.__dict__.items() if k != "passport_id"}
        self.conn.execute(
            update(PASSPORTS).where(PASSPORTS.c.passport_id == state.passport_id).values(**values)
        )

    def partition(self, partition_hash: str) -> StoredPartition | None:
        """A stored partition by its hash."""
        row = self.conn.execute(
            select(PARTITIONS).where(PARTITIONS.c.hash == partition_hash)
        ).first()
        if row is None:
            return None
        return StoredPartition(
            row.hash, row.passport_id, row.partition, row.record_hash, bytes(row.body)
        )

    def partitions_of(self, passport_id: str) -> list[StoredPartition]:
        """Every partition ever stored for a passport (point 4 has one per update)."""
        rows = self.conn.execute(select(PARTITIONS).where(PARTITIONS.c.passport_id == passport_id))
        return [
            StoredPartition(r.hash, r.passport_id, r.partition, r.record_hash, bytes(r.body))
            for r in rows
        ]

    def insert_partitions(self, rows: Sequence[StoredPartition]) -> None:
        """Store signed partitions."""
        if rows:
            self.conn.execute(PARTITIONS.insert(), [r.__dict__ for r in rows])

    def add_event(self, event: PassportEventRow) -> None:
        """Record that a ledger record concerns a passport."""
        self.conn.execute(EVENTS.insert().values(**event.__dict__))

    def events(self, passport_id: str) -> list[PassportEventRow]:
        """The passport's records in log order."""
        rows = self.conn.execute(
            select(EVENTS).where(EVENTS.c.passport_id == passport_id).order_by(EVENTS.c.leaf_index)
        )
        return [
            PassportEventRow(
                r.passport_id, r.leaf_index, r.record_hash, r.kind, r.status, r.accepted_at
            )
            for r in rows
        ]

    def insert_disclosure_grant(self, row: DisclosureGrantRow) -> None:
        """Store an accepted ``DisclosureGrant``."""
        values = dict(row.__dict__)
        values["kinds"] = list(row.kinds) if row.kinds is not None else None
        values["records"] = list(row.records) if row.records is not None else None
        self.conn.execute(GRANTS.insert().values(**values))

    def disclosure_grant(self, record_hash: str) -> DisclosureGrantRow | None:
        """The grant made by this record, if any."""
        row = self.conn.execute(select(GRANTS).where(GRANTS.c.record_hash == record_hash)).first()
        return _grant(row) if row else None

    def end_disclosure_grant(self, record_hash: str, ended_by: str, ended_at: str) -> None:
        """Mark a grant retracted."""
        self.conn.execute(
            update(GRANTS)
            .where(GRANTS.c.record_hash == record_hash)
            .values(ended_by=ended_by, ended_at=ended_at)
        )

    def disclosure_grants(self, issuer: str, grantee: str) -> list[DisclosureGrantRow]:
        """Every grant ``issuer`` made to ``grantee``, by ``validFrom``."""
        rows = self.conn.execute(
            select(GRANTS)
            .where(GRANTS.c.issuer == issuer, GRANTS.c.grantee == grantee)
            .order_by(GRANTS.c.valid_from, GRANTS.c.record_hash)
        )
        return [_grant(r) for r in rows]


def _grant(row: Any) -> DisclosureGrantRow:
    return DisclosureGrantRow(
        record_hash=row.record_hash,
        issuer=row.issuer,
        grantee=row.grantee,
        scope=row.scope,
        kinds=tuple(row.kinds) if row.kinds is not None else None,
        records=tuple(row.records) if row.records is not None else None,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        ended_by=row.ended_by,
        ended_at=row.ended_at,
    )
