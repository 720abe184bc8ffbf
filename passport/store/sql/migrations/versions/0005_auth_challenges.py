"""Pending API auth challenges in the database.

They were kept in the server process's memory, so a node could run only one server process: a
challenge issued by one process was unknown to the others. In the database every process of the
node shares them, and a challenge is still consumed exactly once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``auth_challenges``."""
    op.create_table(
        "auth_challenges",
        sa.Column("challenge", sa.String(512), primary_key=True),
        sa.Column("did", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_auth_challenges_expires_at", "auth_challenges", ["expires_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_auth_challenges_expires_at", table_name="auth_challenges")
    op.drop_table("auth_challenges")
