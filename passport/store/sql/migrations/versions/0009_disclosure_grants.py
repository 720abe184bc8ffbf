"""Disclosure grants (issue #21): who may read the Disclosures of which records of an issuer.

A ``DisclosureGrant`` record lets a named certifier or notified body read the Disclosures of the
issuer's confidential records (all, some kinds, or listed records) until ``validUntil`` or until
a Retraction ends it. The node keeps each accepted grant here, derived from the signed record
(it could be rebuilt from the log), so that a read of Disclosures looks grants up by issuer and
grantee.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``disclosure_grants``."""
    op.create_table(
        "disclosure_grants",
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("issuer", sa.String(256), nullable=False),
        sa.Column("grantee", sa.String(256), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("kinds", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("records", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("valid_from", sa.String(32), nullable=False),
        sa.Column("valid_until", sa.String(32), nullable=True),
        sa.Column("ended_by", sa.String(71), nullable=True),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("record_hash"),
    )
    op.create_index(
        "ix_disclosure_grants_issuer_grantee", "disclosure_grants", ["issuer", "grantee"]
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_disclosure_grants_issuer_grantee", table_name="disclosure_grants")
    op.drop_table("disclosure_grants")
