"""Passport tables: the current state of each passport, its signed partitions, its lifecycle.

As with ``records``, nothing here is the signed model: ``passport_partitions.body`` holds the
canonical bytes of each signed partition exactly as hashed and committed to by a ledger record;
every other column is derived from ledger records and could be rebuilt from them. The partitions
are kept out of the public ``records`` table because points 2 to 4 of Annex XIII are confidential.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel


class Passport(SQLModel, table=True):
    """One passport: its identity, current status and the hash of its current point-4 partition."""

    __tablename__ = "passports"
    passport_id: str = Field(primary_key=True, max_length=64)
    battery_id: str = Field(index=True, max_length=2048)
    record_hash: str = Field(unique=True, max_length=71)
    issuer: str = Field(index=True)
    category: str = Field(max_length=16)
    status: str = Field(max_length=16)
    pack_lot: str | None = Field(default=None, index=True)
    predecessor: str | None = Field(default=None, index=True, max_length=64)
    successor: str | None = Field(default=None, max_length=64)
    issued_at: str = Field(max_length=32)
    last_updated: str = Field(max_length=32)
    ceased_at: str | None = Field(default=None, max_length=32)
    checkpoint_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    point4_hash: str = Field(max_length=71)


class PassportPartition(SQLModel, table=True):
    """A signed partition (a VC by the economic operator or an updater): its canonical bytes."""

    __tablename__ = "passport_partitions"
    hash: str = Field(primary_key=True, max_length=71)
    passport_id: str = Field(index=True, max_length=64)
    partition: int
    record_hash: str = Field(max_length=71)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PassportEvent(SQLModel, table=True):
    """A ledger record about a passport (issue, status change, update), in log order."""

    __tablename__ = "passport_events"
    __table_args__ = (Index("ix_passport_events_record", "record_hash"),)
    passport_id: str = Field(primary_key=True, max_length=64)
    leaf_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record_hash: str = Field(max_length=71)
    kind: str = Field(max_length=64)
    status: str = Field(max_length=16)
    accepted_at: str = Field(max_length=32)


class DisclosureGrant(SQLModel, table=True):
    """A ``DisclosureGrant`` record as accepted (issue #21): who may read the Disclosures of
    which of the issuer's records, until when; ``ended_by`` the Retraction that ended it."""

    __tablename__ = "disclosure_grants"
    __table_args__ = (Index("ix_disclosure_grants_issuer_grantee", "issuer", "grantee"),)
    record_hash: str = Field(primary_key=True, max_length=71)
    issuer: str = Field(max_length=256)
    grantee: str = Field(max_length=256)
    scope: str = Field(max_length=16)
    kinds: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    records: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    valid_from: str = Field(max_length=32)
    valid_until: str | None = Field(default=None, max_length=32)
    ended_by: str | None = Field(default=None, max_length=71)
    ended_at: str | None = Field(default=None, max_length=32)
