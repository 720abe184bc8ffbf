"""The Disclosures of confidential records (issue #21).

A confidential record is signed and logged with its confidential members replaced by salted
digests (RFC 9901 Disclosures); the Disclosures travel beside it. The node keeps them here, one
row per concealed member, apart from the signed bytes in ``records.body`` and out of the log,
so that access to them can be granted per reader and per member.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``record_disclosures``."""
    op.create_table(
        "record_disclosures",
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("member", sa.String(200), nullable=False),
        sa.Column("disclosure", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("record_hash", "member"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("record_disclosures")
