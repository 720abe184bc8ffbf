"""Material traceability: lots, holdings, steps, input edges, transfers, attestations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the traceability tables (see passport/store/trace_tables.py)."""
    op.create_table(
        "trace_lots",
        sa.Column("lot_id", sa.String(220), primary_key=True),
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("mass_grams", sa.BigInteger(), nullable=False),
        sa.Column("ppm_li", sa.Integer(), nullable=False),
        sa.Column("ppm_ni", sa.Integer(), nullable=False),
        sa.Column("ppm_co", sa.Integer(), nullable=False),
        sa.Column("ppm_mn", sa.Integer(), nullable=False),
        sa.Column("ppm_c", sa.Integer(), nullable=False),
        sa.Column("custody", sa.String(32), nullable=False),
        sa.Column("origin_key", sa.String(220), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=True),
        sa.Column("credits", sa.JSON(), nullable=False),
        sa.Column("consumed_grams", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_trace_lots_record_hash", "trace_lots", ["record_hash"])
    op.create_table(
        "trace_holdings",
        sa.Column("lot_id", sa.String(220), primary_key=True),
        sa.Column("holder", sa.String(), primary_key=True),
        sa.Column("grams", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "trace_steps",
        sa.Column("record_hash", sa.String(71), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("facility_id", sa.String(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("process_step", sa.String(32), nullable=False),
        sa.Column("custody", sa.String(32), nullable=False),
        sa.Column("material", sa.String(32), nullable=True),
        sa.Column("deposit_type", sa.String(32), nullable=True),
        sa.Column("mining_method", sa.String(32), nullable=True),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("accepted_at", sa.String(32), nullable=False),
        sa.Column("emissions", sa.JSON(), nullable=True),
        sa.Column("externals", sa.JSON(), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=True),
        sa.Column("output_mass_grams", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "trace_inputs",
        sa.Column("step_hash", sa.String(71), primary_key=True),
        sa.Column("lot_id", sa.String(220), primary_key=True),
        sa.Column("lot_record", sa.String(71), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.Column("recycled", sa.String(16), nullable=True),
        sa.Column("ppm_li", sa.Integer(), nullable=False),
        sa.Column("ppm_ni", sa.Integer(), nullable=False),
        sa.Column("ppm_co", sa.Integer(), nullable=False),
        sa.Column("ppm_mn", sa.Integer(), nullable=False),
        sa.Column("ppm_c", sa.Integer(), nullable=False),
    )
    op.create_index("ix_trace_inputs_lot_id", "trace_inputs", ["lot_id"])
    op.create_table(
        "trace_transfers",
        sa.Column("record_hash", sa.String(71), primary_key=True),
        sa.Column("lot_id", sa.String(220), nullable=False),
        sa.Column("seller", sa.String(), nullable=False),
        sa.Column("buyer", sa.String(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settled_by", sa.String(71), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_trace_transfers_lot_id", "trace_transfers", ["lot_id"])
    op.create_index("ix_trace_transfers_buyer", "trace_transfers", ["buyer"])
    op.create_table(
        "trace_attestations",
        sa.Column("record_hash", sa.String(71), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("verifier", sa.String(), nullable=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_lot", sa.String(220), nullable=True),
        sa.Column("subject_actor", sa.String(), nullable=True),
        sa.Column("subject_facility", sa.String(), nullable=True),
        sa.Column("scheme", sa.String(64), nullable=True),
        sa.Column("valid_from", sa.String(32), nullable=True),
        sa.Column("valid_until", sa.String(32), nullable=True),
        sa.Column("accepted_at", sa.String(32), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("retracted_by", sa.String(71), nullable=True),
        sa.Column("retracted_at", sa.String(32), nullable=True),
        sa.Column("retraction_effect", sa.String(16), nullable=True),
        sa.Column("retraction_reason", sa.String(), nullable=True),
    )
    op.create_index("ix_trace_attestations_subject_lot", "trace_attestations", ["subject_lot"])
    op.create_index("ix_trace_attestations_subject_actor", "trace_attestations", ["subject_actor"])


def downgrade() -> None:
    """Drop the traceability tables."""
    for table in (
        "trace_attestations",
        "trace_transfers",
        "trace_inputs",
        "trace_steps",
        "trace_holdings",
        "trace_lots",
    ):
        op.drop_table(table)
