"""Chain sequences as 64-bit integers.

A record's ``chain.sequence`` may be any integer up to 2**53 - 1 (the envelope schema's limit),
but ``records.sequence`` and ``actors.head_sequence`` were created as 32-bit ``INTEGER`` columns:
on PostgreSQL an issuer's 2,147,483,648th record could not be stored. SQLite's INTEGER is already
64-bit, so only PostgreSQL columns change (in place; the rows are kept).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen the two sequence columns to BIGINT (PostgreSQL; a no-op on SQLite)."""
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("records", "sequence", type_=sa.BigInteger(), existing_nullable=False)
    op.alter_column("actors", "head_sequence", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    """Narrow them back (fails if a sequence no longer fits in 32 bits)."""
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("actors", "head_sequence", type_=sa.Integer(), existing_nullable=False)
    op.alter_column("records", "sequence", type_=sa.Integer(), existing_nullable=False)
