"""The driver-level bulk writes and keyed reads of the append path (passport.store.sql.bulk), on the
backend under test: what they write is what Core would write, and a conflict is an error that
leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from passport.ledger.pipeline import Ledger
from passport.store.sql.bulk import insert_rows, select_in
from passport.store.sql.repository import RECORDS, TREE


def _node_rows(start: int, count: int) -> list[tuple[int, bytes]]:
    return [(2**45 + i, bytes([i % 256]) * 32) for i in range(start, start + count)]


def test_inserted_rows_read_back_exactly(ledger: Ledger) -> None:
    rows = _node_rows(0, 1200)  # more than one SQLite IN chunk when read back
    with ledger.repo.write() as tx:
        insert_rows(tx.conn, TREE, ("pos", "hash"), rows)
    with ledger.repo.read() as tx:
        stored = {int(r.pos): bytes(r.hash) for r in tx.conn.execute(select(TREE))}
    assert all(stored[pos] == value for pos, value in rows)
    with ledger.repo.read() as tx:
        found = select_in(tx.conn, [TREE.c.pos], TREE.c.pos, [])
    assert found == []


def test_conflicting_row_raises_integrity_error_and_rolls_back(ledger: Ledger) -> None:
    with ledger.repo.write() as tx:
        insert_rows(tx.conn, TREE, ("pos", "hash"), _node_rows(0, 10))
    with pytest.raises(IntegrityError), ledger.repo.write() as tx:
        insert_rows(tx.conn, TREE, ("pos", "hash"), _node_rows(10, 5) + _node_rows(9, 1))
    with ledger.repo.read() as tx:
        positions = {int(r.pos) for r in tx.conn.execute(select(TREE.c.pos))}
    assert {2**45 + i for i in range(10)} <= positions
    assert not {2**45 + i for i in range(10, 15)} & positions


def test_select_in_finds_keys_holding_the_separator(ledger: Ledger) -> None:
    # The PostgreSQL branch joins keys with U+001F; a key holding it takes the array branch.
    with ledger.repo.read() as tx:
        first = tx.records_range(0, 1)[0]
        rows = select_in(
            tx.conn, [RECORDS.c.leaf_index], RECORDS.c.hash, [first.hash, "a\x1fb", "sha256:00"]
        )
    assert rows == [(0,)]
