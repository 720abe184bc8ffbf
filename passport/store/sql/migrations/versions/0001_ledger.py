"""The ledger: records, actors and keys, the transparency log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ledger's tables."""
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("last_accepted_at", sa.String(), nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("leaf_index", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(71), nullable=False, unique=True),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("verification_method", sa.String(), nullable=False),
        sa.Column("accepted_at", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("issuer", "sequence", name="uq_records_issuer_sequence"),
    )
    op.create_index("ix_records_issuer", "records", ["issuer"])
    op.create_index("ix_records_kind", "records", ["kind"])
    op.create_table(
        "actors",
        sa.Column("did", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("facilities", sa.JSON(), nullable=False),
        sa.Column("registration", sa.String(71), nullable=False),
        sa.Column("head_sequence", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(71), nullable=True),
    )
    op.create_table(
        "actor_keys",
        sa.Column("multikey", sa.String(64), primary_key=True),
        sa.Column("actor_did", sa.String(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("added_at", sa.String(32), nullable=False),
        sa.Column("added_by", sa.String(71), nullable=False),
        sa.Column("retired_at", sa.String(32), nullable=True),
        sa.Column("retired_by", sa.String(71), nullable=True),
        sa.Column("compromised_from", sa.String(32), nullable=True),
    )
    op.create_index("ix_actor_keys_actor_did", "actor_keys", ["actor_did"])
    op.create_table(
        "tree_nodes",
        sa.Column("pos", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    """Drop the ledger's tables."""
    for table in ("checkpoints", "tree_nodes", "actor_keys", "actors", "records", "log_state"):
        op.drop_table(table)
    op.drop_table("meta")
