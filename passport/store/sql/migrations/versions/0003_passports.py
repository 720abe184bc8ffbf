"""Battery passports: passport state, signed partitions, lifecycle events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the passport tables."""
    op.create_table(
        "passports",
        sa.Column("passport_id", sa.String(64), primary_key=True),
        sa.Column("battery_id", sa.String(2048), nullable=False),
        sa.Column("record_hash", sa.String(71), nullable=False, unique=True),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pack_lot", sa.String(), nullable=True),
        sa.Column("predecessor", sa.String(64), nullable=True),
        sa.Column("successor", sa.String(64), nullable=True),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("last_updated", sa.String(32), nullable=False),
        sa.Column("ceased_at", sa.String(32), nullable=True),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("point4_hash", sa.String(71), nullable=False),
    )
    op.create_index("ix_passports_battery_id", "passports", ["battery_id"])
    op.create_index("ix_passports_issuer", "passports", ["issuer"])
    op.create_index("ix_passports_pack_lot", "passports", ["pack_lot"])
    op.create_index("ix_passports_predecessor", "passports", ["predecessor"])
    op.create_table(
        "passport_partitions",
        sa.Column("hash", sa.String(71), primary_key=True),
        sa.Column("passport_id", sa.String(64), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_passport_partitions_passport_id", "passport_partitions", ["passport_id"])
    op.create_table(
        "passport_events",
        sa.Column("passport_id", sa.String(64), primary_key=True),
        sa.Column("leaf_index", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_passport_events_record", "passport_events", ["record_hash"])


def downgrade() -> None:
    """Drop the passport tables."""
    for table in ("passport_events", "passport_partitions", "passports"):
        op.drop_table(table)
