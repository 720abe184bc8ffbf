"""SQLite: the integer keys of ``records``, ``tree_nodes`` and ``checkpoints`` become the rowid.

SQLite makes a column the table's own B-tree key (the rowid) only when it is declared exactly
``INTEGER PRIMARY KEY``; the ``BIGINT PRIMARY KEY`` of migration 0001 gave each of these tables
a hidden rowid *and* a separate unique index on the declared key. Every appended record paid
for the extra index on ``records.leaf_index`` and, through its two tree nodes, on
``tree_nodes.pos``: three B-tree inserts of the six per record, for nothing. SQLite's INTEGER
is 64-bit, as BIGINT is. PostgreSQL is unchanged (its primary key is its one index).

The tables are rebuilt (create, copy in key order, drop, rename), which rewrites them once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_RECORD_COLUMNS = "leaf_index, hash, issuer, sequence, kind, verification_method, accepted_at, body"


def _records(key_type: str) -> str:
    return f"""CREATE TABLE records_rebuilt (
        leaf_index {key_type} NOT NULL PRIMARY KEY,
        hash VARCHAR(71) NOT NULL,
        issuer VARCHAR NOT NULL,
        sequence INTEGER NOT NULL,
        kind VARCHAR(64) NOT NULL,
        verification_method VARCHAR NOT NULL,
        accepted_at VARCHAR(32) NOT NULL,
        body BLOB NOT NULL,
        CONSTRAINT uq_records_issuer_sequence UNIQUE (issuer, sequence),
        UNIQUE (hash)
    )"""


def _tree_nodes(key_type: str) -> str:
    return (
        f"CREATE TABLE tree_nodes_rebuilt (pos {key_type} NOT NULL PRIMARY KEY, hash BLOB NOT NULL)"
    )


def _checkpoints(key_type: str) -> str:
    return f"""CREATE TABLE checkpoints_rebuilt (
        size {key_type} NOT NULL PRIMARY KEY,
        root BLOB NOT NULL,
        note VARCHAR NOT NULL,
        created_at VARCHAR(32) NOT NULL
    )"""


def _rebuild(key_type: str) -> None:
    for table, create, columns, key in (
        ("records", _records, _RECORD_COLUMNS, "leaf_index"),
        ("tree_nodes", _tree_nodes, "pos, hash", "pos"),
        ("checkpoints", _checkpoints, "size, root, note, created_at", "size"),
    ):
        op.execute(create(key_type))
        op.execute(
            f"INSERT INTO {table}_rebuilt ({columns}) "  # noqa: S608 - fixed names
            f"SELECT {columns} FROM {table} ORDER BY {key}"
        )
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_rebuilt RENAME TO {table}")


def upgrade() -> None:
    """Rebuild the three tables with ``INTEGER PRIMARY KEY`` (SQLite; a no-op elsewhere)."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("INTEGER")


def downgrade() -> None:
    """Rebuild them with ``BIGINT PRIMARY KEY`` again."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("BIGINT")
