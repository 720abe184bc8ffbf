"""The in-memory store (``passport.store.memory``) held to the database, record by record.

A :class:`Mirror` follows a real :class:`passport.ledger.pipeline.Ledger` (SQLite or PostgreSQL, whichever
the suite runs on): every record the ledger accepts is accepted by the same rules
(``passport.ledger.accept.accept_record``) on a :class:`MemoryTx`, every record it rejects must be
rejected there with the same error type and code, and :meth:`Mirror.verify` requires both
stores to answer every traceability query the same. ``tests.helpers.chain.Chain`` mirrors each of its
ledgers, and a fixture in ``tests/conftest.py`` verifies them after every test: the traceability tests
(the rule tests, the roll-up tests, the random DAGs) are the memory store's differential tests.
"""

from __future__ import annotations

from typing import Any

from passport.ledger.accept import accept_record, verify_record_proof
from passport.ledger.pipeline import Ledger, stored_row
from passport.records.envelope import ParsedRecord, parse_record
from passport.store.memory import MemoryTx
from passport.store.sql import trace as tr
from passport.store.sql.repository import Repository, Tx
from passport.store.state import StateTx
from passport.timefmt import format_ts, now
from passport.trace.rollup import compute_rollup
from passport.verify.provenance_set import PASSPORT_KINDS
from signing.errors import BpassError


class Mirror:
    """A ledger's state replayed into memory beside it (see the module docstring)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.info = ledger.info()  # the rules read its operator DID, which never changes
        self.state = MemoryTx()
        self.size = 0
        self.rejections = 0  # rejections the memory store reproduced

    def _apply(self, record: ParsedRecord, accepted_at: str, leaf: int) -> None:
        if record.kind in PASSPORT_KINDS:  # not kept in memory: only the chain moves
            self.state.set_actor_head(record.issuer, record.sequence, record.hash)
        else:
            try:
                accept_record(self.state, record, self.info, accepted_at, leaf)
            except BpassError as exc:
                raise AssertionError(
                    f"the memory store rejects {record.kind} {record.hash}, which the ledger "
                    f"accepted: {exc!r}"
                ) from exc
        self.state.stage_record(stored_row(record, leaf, accepted_at))

    def catch_up(self) -> None:
        """Replay what the ledger accepted since the last call (by any path)."""
        with self.ledger.repo.read() as tx:
            size, _ = tx.log_size()
            rows = tx.records_range(self.size, size)
        for row in rows:
            self._apply(
                parse_record(row.body, max_bytes=len(row.body)), row.accepted_at, row.leaf_index
            )
        self.size = size

    def rejected(self, doc: dict[str, Any], error: BpassError) -> None:
        """The ledger rejected ``doc`` with ``error``: the memory store must too, the same way."""
        self.catch_up()
        got: BpassError | None = None
        try:
            record = parse_record(doc)
            verify_record_proof(record)
            if record.kind in PASSPORT_KINDS:
                return  # the passport kinds' rules read passport tables, not kept in memory
            accept_record(self.state, record, self.info, format_ts(now()), self.size)
        except BpassError as exc:
            got = exc
        if got is None:
            raise AssertionError(f"the memory store accepts what the ledger rejected: {error!r}")
        assert (type(got), got.code) == (type(error), error.code), (got, error)
        self.rejections += 1
        # A rule may fail after writing part of its rows (the ledger rolls them back): start
        # again from the ledger's records.
        self.state, self.size = MemoryTx(), 0
        self.catch_up()

    def verify(self) -> None:
        """Both stores answer every traceability query the same."""
        self.catch_up()
        with self.ledger.repo.read() as tx:
            keys = _keys(tx)
            expected = trace_state(tx, keys)
        mem = self.state.trace()
        assert keys == (
            sorted(mem._lots),
            sorted(mem._steps),
            sorted(mem._transfers),
            sorted(mem._attestations),
            sorted(a.did for a in self.state.actors()),
        ), "the memory store holds other rows than the database"
        got = trace_state(self.state, keys)
        differ = [name for name in expected if got[name] != expected[name]]
        assert not differ, f"the memory store answers {differ} otherwise: {got[differ[0]]!r}"
        at = format_ts(now())
        for lot in keys[0]:  # and every lot rolls up the same, trails included
            assert _rollup(self.state, lot, at) == _rollup(self.ledger.repo, lot, at), lot


def _rollup(store: StateTx | Repository, lot: str, at: str) -> Any:
    """A lot's roll-up with its trails, or the error it raises."""
    try:
        rollup = compute_rollup(store, lot, at=at)
    except BpassError as exc:
        return type(exc), exc.code
    return rollup.model_dump(), rollup.trails


def _keys(tx: Tx) -> tuple[list[str], ...]:
    """Every lot id, step, transfer and attestation hash and actor DID in a database."""
    from sqlalchemy import select

    tables = (tr.LOTS.c.lot_id, tr.STEPS.c.record_hash, tr.TRANSFERS.c.record_hash)
    columns = (*tables, tr.ATTESTATIONS.c.record_hash)
    out = [sorted(r[0] for r in tx.conn.execute(select(c))) for c in columns]
    return (*out, [a.did for a in tx.actors()])


def trace_state(tx: StateTx, keys: tuple[list[str], ...]) -> dict[str, Any]:
    """What every query of ``tx`` and its trace tables answers about ``keys`` (see
    :func:`_keys`): lists in the order the query gives them, dicts as dicts (a query keyed by
    id promises no order of its keys, and PostgreSQL's differs from SQLite's)."""
    lots, steps, transfers, attestations, actors = keys
    tt = tx.trace()
    holders = {lot: tt.holders(lot) for lot in lots}
    everyone = sorted({h for hs in holders.values() for h in hs})
    return {
        "lots": tt.lots(lots),
        "lots_no_credits": tt.lots(lots, with_credits=False),
        "lot": [tt.lot(lot) for lot in lots],
        "lots_with_steps": tt.lots_with_steps(lots),
        "lots_created_by": [tt.lots_created_by(h) for h in steps],
        "holders": holders,
        "holdings": [tt.holdings(lots, h) for h in everyone],
        "steps": tt.steps(steps),
        "step": [tt.step(h) for h in steps],
        "inputs_of": tt.inputs_of(steps),
        "consumers_of": [tt.consumers_of(lot) for lot in lots],
        "transfer": [tt.transfer(h) for h in transfers],
        "transfers_of_lot": [tt.transfers_of_lot(lot) for lot in lots],
        "attestation": [tt.attestation(h) for h in attestations],
        "about": tt.attestations_about(lots=lots, actors=actors),
        "about_kinds": [
            tt.attestations_about(actors=[a], kinds=["Certification", "DueDiligence"])
            for a in actors
        ],
        "actors": tx.actors(),
        "keys": [tx.keys_of(a) for a in actors],
        "all_keys": sorted(tx.all_keys()),
        "records": tx.count_records(),
    }
