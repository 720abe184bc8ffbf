"""Drop two indexes of ``records`` that no query needs.

``ix_records_issuer`` duplicates the leading column of the unique ``(issuer, sequence)`` index,
which already serves every lookup by issuer (both SQLite and PostgreSQL use a composite index
for a query on its first column), and no query selects records by ``kind`` alone. Each index
is one more B-tree insert for every appended record: measured on SQLite, the two cost about
5 us of the ~18 us that storing a 900-byte record takes (insert plus its share of the commit).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop ``ix_records_issuer`` and ``ix_records_kind``."""
    op.drop_index("ix_records_kind", table_name="records")
    op.drop_index("ix_records_issuer", table_name="records")


def downgrade() -> None:
    """Recreate them."""
    op.create_index("ix_records_issuer", "records", ["issuer"])
    op.create_index("ix_records_kind", "records", ["kind"])
