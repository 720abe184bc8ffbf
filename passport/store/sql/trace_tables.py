"""SQLModel tables for material traceability: lots, custody holdings, steps, edges, transfers and
attestations (migration ``0002``).

Like :mod:`passport.store.sql.tables` these are an index over signed records, never the signed
model: every row is derived from the canonical bytes of accepted Extraction, Transformation,
Transfer, TransferAcceptance, attestation and Retraction records and could be rebuilt from them.

Indexes serve the two access paths the domain has:

- append-time rules look lots up by id (primary key), holdings by (lot, holder), transfers by hash;
- roll-ups walk a lot's provenance upwards, one batched query per BFS level: lots by id, steps by
  record hash, input edges by step hash (leading column of the primary key), attestations by
  subject lot or subject actor. Nothing is ever scanned by time or kind, so a roll-up costs
  O(the lot's own provenance), not O(ledger).

Quantities are integers: grams of mass and, one column per element (``ppm_li`` … ``ppm_c``), parts
per million of element content; element masses in micrograms (grams × ppm, which can exceed 64
bits) are computed in Python, never stored. Carbon figures are decimal strings exactly as signed.
An input edge repeats the consumed lot's contents, so a step's element pool is known from its edges
alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

NULLABLE_JSON = JSON(none_as_null=True)
"""Optional JSON columns store SQL NULL, not the JSON text ``null``: a roll-up reads thousands of
them and skips decoding NULLs."""

HASH_LEN = 71
LOT_ID_LEN = 220
TS_LEN = 32


class TraceLot(SQLModel, table=True):
    """A lot: created by one Extraction or Transformation record, never changed afterwards except
    for the running ``consumed_grams`` total."""

    __tablename__ = "trace_lots"
    lot_id: str = Field(primary_key=True, max_length=LOT_ID_LEN)
    record_hash: str = Field(index=True, max_length=HASH_LEN)
    issuer: str
    facility_id: str
    mass_grams: int = Field(sa_column=Column(BigInteger, nullable=False))
    ppm_li: int = 0
    ppm_ni: int = 0
    ppm_co: int = 0
    ppm_mn: int = 0
    ppm_c: int = 0
    custody: str = Field(max_length=32)
    origin_key: str | None = Field(default=None, max_length=LOT_ID_LEN)
    claims: dict[str, Any] | None = Field(
        default=None, sa_column=Column(NULLABLE_JSON, nullable=True)
    )
    credits: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    consumed_grams: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: str = Field(max_length=TS_LEN)


class TraceHolding(SQLModel, table=True):
    """Grams of a lot in one actor's custody, available to consume or transfer."""

    __tablename__ = "trace_holdings"
    lot_id: str = Field(primary_key=True, max_length=LOT_ID_LEN)
    holder: str = Field(primary_key=True)
    grams: int = Field(sa_column=Column(BigInteger, nullable=False))


class TraceStep(SQLModel, table=True):
    """One Extraction or Transformation record: the provenance node that creates lots."""

    __tablename__ = "trace_steps"
    record_hash: str = Field(primary_key=True, max_length=HASH_LEN)
    kind: str = Field(max_length=32)
    issuer: str
    facility_id: str
    country: str = Field(max_length=2)
    process_step: str = Field(max_length=32)
    custody: str = Field(max_length=32)
    material: str | None = Field(default=None, max_length=32)
    deposit_type: str | None = Field(default=None, max_length=32)
    mining_method: str | None = Field(default=None, max_length=32)
    event_time: str = Field(max_length=TS_LEN)
    accepted_at: str = Field(max_length=TS_LEN)
    emissions: dict[str, str] | None = Field(
        default=None, sa_column=Column(NULLABLE_JSON, nullable=True)
    )
    externals: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(NULLABLE_JSON, nullable=True)
    )
    claims: dict[str, int] | None = Field(
        default=None, sa_column=Column(NULLABLE_JSON, nullable=True)
    )
    output_mass_grams: int = Field(sa_column=Column(BigInteger, nullable=False))


class TraceInput(SQLModel, table=True):
    """An edge of the provenance graph: a Transformation consumed ``grams`` of a lot."""

    __tablename__ = "trace_inputs"
    __table_args__ = (Index("ix_trace_inputs_lot_id", "lot_id"),)
    step_hash: str = Field(primary_key=True, max_length=HASH_LEN)
    lot_id: str = Field(primary_key=True, max_length=LOT_ID_LEN)
    lot_record: str = Field(max_length=HASH_LEN)
    grams: int = Field(sa_column=Column(BigInteger, nullable=False))
    recycled: str | None = Field(default=None, max_length=16)
    ppm_li: int = 0
    ppm_ni: int = 0
    ppm_co: int = 0
    ppm_mn: int = 0
    ppm_c: int = 0


class TraceTransfer(SQLModel, table=True):
    """A Transfer of a lot quantity from seller to buyer: pending until the buyer's decision."""

    __tablename__ = "trace_transfers"
    record_hash: str = Field(primary_key=True, max_length=HASH_LEN)
    lot_id: str = Field(index=True, max_length=LOT_ID_LEN)
    seller: str
    buyer: str = Field(index=True)
    grams: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=16)  # pending | accepted | rejected
    settled_by: str | None = Field(default=None, max_length=HASH_LEN)
    created_at: str = Field(max_length=TS_LEN)


class TraceAttestation(SQLModel, table=True):
    """A CarbonFootprint, RecycledContent, Certification or DueDiligence attestation, and its
    retraction if any (``retracted_*``; the attestation's record itself is never changed)."""

    __tablename__ = "trace_attestations"
    record_hash: str = Field(primary_key=True, max_length=HASH_LEN)
    kind: str = Field(max_length=32)
    issuer: str
    verifier: str | None = None
    subject_type: str = Field(max_length=16)  # lot | facility | actor
    subject_lot: str | None = Field(default=None, index=True, max_length=LOT_ID_LEN)
    subject_actor: str | None = Field(default=None, index=True)
    subject_facility: str | None = None
    scheme: str | None = Field(default=None, max_length=64)
    valid_from: str | None = Field(default=None, max_length=TS_LEN)
    valid_until: str | None = Field(default=None, max_length=TS_LEN)
    accepted_at: str = Field(max_length=TS_LEN)
    leaf_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    retracted_by: str | None = Field(default=None, max_length=HASH_LEN)
    retracted_at: str | None = Field(default=None, max_length=TS_LEN)
    retraction_effect: str | None = Field(default=None, max_length=16)  # retracted | revoked
    retraction_reason: str | None = None
