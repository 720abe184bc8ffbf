"""The Disclosures of a confidential record in one row (issue #21).

Revision 0008 kept one row per concealed member. Nothing reads Disclosures per member: every
reader entitled to a record's Disclosures gets all of them, and the node checks them all on
append. One row per record, its Disclosures as a JSON array of their encoded strings in member
name order, is what is read, and it is one row where 0008 wrote one per concealed member (seven
for an Extraction): on disk those rows and their key index were a measured share of a
confidential append (bench/README.md, bench_confidential).

Existing rows are folded into the new layout in the order 0008 served them (by member name);
the downgrade splits them again, each under the member name its Disclosure carries
(RFC 9901 §4.2.1: the base64url JSON array ``[salt, name, value]``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CHUNK = 1000
_PER_MEMBER = sa.table(
    "record_disclosures",
    sa.column("record_hash", sa.String()),
    sa.column("member", sa.String()),
    sa.column("disclosure", sa.String()),
)
_PER_RECORD = sa.table(
    "record_disclosures",
    sa.column("record_hash", sa.String()),
    sa.column("disclosures", sa.String()),
)


def _renamed(table: sa.TableClause, name: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c.name, c.type) for c in table.columns))


def _pages(conn: sa.Connection, table: sa.TableClause) -> Iterator[list[str]]:
    """The record hashes of ``table`` in order, a page at a time: a ledger may hold millions of
    confidential records, so each page is read and written before the next is fetched."""
    last = ""
    while True:
        page = [
            h
            for (h,) in conn.execute(
                sa.select(table.c.record_hash)
                .distinct()
                .where(table.c.record_hash > last)
                .order_by(table.c.record_hash)
                .limit(_CHUNK)
            )
        ]
        if not page:
            return
        yield page
        last = page[-1]


def upgrade() -> None:
    """Fold ``record_disclosures`` into one row per record."""
    conn = op.get_bind()
    op.create_table(
        "record_disclosures_0010",
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("disclosures", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("record_hash", name="pk_record_disclosures"),
    )
    target = _renamed(_PER_RECORD, "record_disclosures_0010")
    for page in _pages(conn, _PER_MEMBER):
        held: dict[str, list[str]] = {h: [] for h in page}
        rows = conn.execute(
            sa.select(_PER_MEMBER.c.record_hash, _PER_MEMBER.c.disclosure)
            .where(_PER_MEMBER.c.record_hash.in_(page))
            .order_by(_PER_MEMBER.c.record_hash, _PER_MEMBER.c.member)
        )
        for record_hash, disclosure in rows:
            held[record_hash].append(disclosure)
        conn.execute(
            sa.insert(target),
            [{"record_hash": h, "disclosures": json.dumps(ds)} for h, ds in held.items()],
        )
    op.drop_table("record_disclosures")
    op.rename_table("record_disclosures_0010", "record_disclosures")


def _member(disclosure: str) -> str:
    """The member name a Disclosure carries (``""`` for an array element's, which has none), as
    revision 0008 filed it."""
    parts = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
    return str(parts[1]) if len(parts) == 3 else ""


def downgrade() -> None:
    """Split the rows per member again, as revision 0008 kept them."""
    conn = op.get_bind()
    op.create_table(
        "record_disclosures_0008",
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("member", sa.String(200), nullable=False),
        sa.Column("disclosure", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("record_hash", "member", name="pk_record_disclosure_members"),
    )
    target = _renamed(_PER_MEMBER, "record_disclosures_0008")
    for page in _pages(conn, _PER_RECORD):
        rows = conn.execute(
            sa.select(_PER_RECORD.c.record_hash, _PER_RECORD.c.disclosures).where(
                _PER_RECORD.c.record_hash.in_(page)
            )
        )
        conn.execute(
            sa.insert(target),
            [
                {"record_hash": h, "member": _member(d), "disclosure": d}
                for h, kept in rows
                for d in json.loads(kept)
            ],
        )
    op.drop_table("record_disclosures")
    op.rename_table("record_disclosures_0008", "record_disclosures")
