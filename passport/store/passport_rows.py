"""The rows of the passport tables as the passport's rules see them: plain values, no storage."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


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


@dataclass(frozen=True)
class DisclosureGrantRow:
    """A row of ``disclosure_grants``: a ``DisclosureGrant`` record as its rule accepted it
    (``scope`` ``all``, or ``listed``: the records of ``kinds`` and the ``records``) and how it
    ended, if it was retracted (``ended_by`` the Retraction record, ``ended_at`` its
    acceptance)."""

    record_hash: str
    issuer: str
    grantee: str
    scope: str
    kinds: tuple[str, ...] | None
    records: tuple[str, ...] | None
    valid_from: str
    valid_until: str | None
    ended_by: str | None = None
    ended_at: str | None = None
