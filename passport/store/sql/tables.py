"""SQLModel tables: an index over the signed records, never the signed model itself.

The ledger stores each record's canonical (RFC 8785) bytes in ``records.body`` and serves them
unchanged; every other column is derived from those bytes and can be rebuilt from them. No ORM
default or migration can therefore change what was signed (design: "A record").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Meta(SQLModel, table=True):
    """Key/value facts about this ledger: log origin, log verifier key, operator DID."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class LogState(SQLModel, table=True):
    """The single row that serialises appends: current tree size and last acceptance time."""

    __tablename__ = "log_state"
    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column_kwargs={"nullable": False})
    last_accepted_at: str = Field(default="")


class Record(SQLModel, table=True):
    """One accepted record: its canonical bytes plus the index columns derived from them."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("issuer", "sequence", name="uq_records_issuer_sequence"),)
    leaf_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(unique=True, max_length=71)
    issuer: str  # looked up through uq_records_issuer_sequence (its leading column)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=64)
    verification_method: str
    accepted_at: str = Field(max_length=32)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Actor(SQLModel, table=True):
    """A registered actor and the head of its hash chain."""

    __tablename__ = "actors"
    did: str = Field(primary_key=True)
    name: str
    country: str | None = Field(default=None, max_length=2)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    facilities: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    registration: str = Field(max_length=71)
    head_sequence: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    head_hash: str | None = Field(default=None, max_length=71)


class ActorKey(SQLModel, table=True):
    """A key an actor has used: active, rotated away, or revoked (with its compromise time)."""

    __tablename__ = "actor_keys"
    multikey: str = Field(primary_key=True, max_length=64)
    actor_did: str = Field(index=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(max_length=16)  # active | rotated | revoked
    added_at: str = Field(max_length=32)
    added_by: str = Field(max_length=71)
    retired_at: str | None = Field(default=None, max_length=32)
    retired_by: str | None = Field(default=None, max_length=71)
    compromised_from: str | None = Field(default=None, max_length=32)


class TreeNode(SQLModel, table=True):
    """Hash of a perfect subtree of the RFC 9162 log: ``pos = level * 2**40 + index``."""

    __tablename__ = "tree_nodes"
    pos: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Checkpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint note) of the log at one tree size."""

    __tablename__ = "checkpoints"
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str
    created_at: str = Field(max_length=32)


class RecordDisclosure(SQLModel, table=True):
    """The Disclosures of one confidential record (issue #21; one row per record since
    migration 0010): a JSON array of the encoded Disclosures in member name order, kept beside
    the record, never in ``records.body`` nor the log, and served to no one by this table
    alone."""

    __tablename__ = "record_disclosures"
    record_hash: str = Field(primary_key=True, max_length=71)
    disclosures: str


class AuthChallenge(SQLModel, table=True):
    """A pending single-use auth challenge (API), shared by every server process of a node."""

    __tablename__ = "auth_challenges"
    challenge: str = Field(primary_key=True, max_length=512)
    did: str = Field(max_length=256)
    expires_at: float = Field(index=True)


NODE_LEVEL_SHIFT = 2**40
"""Tree node positions pack (level, index) into one integer; 2**40 leaves is the log's capacity."""


def node_pos(level: int, index: int) -> int:
    """The ``tree_nodes.pos`` of the perfect subtree at (level, index)."""
    return level * NODE_LEVEL_SHIFT + index
