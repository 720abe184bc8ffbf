"""The in-memory store a bundle's provenance is replayed into (``passport.store.memory``).

Its main test is differential: every ``tests.helpers.chain.Chain`` mirrors its ledger into one
(``tests.helpers.mirror``), so the traceability suites check it on both backends. The tests here check
the mirror itself (it must catch a store that strays) and what the store refuses.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest

from passport.errors import MassBalanceError, NotKeptInMemoryError, RuleViolationError
from passport.ledger import kinds
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record
from passport.records.kinds import AcceptContext
from passport.store.memory import MemoryTraceTx, MemoryTx
from passport.store.sql.repository import Tx
from passport.store.sql.trace import TraceTx
from passport.store.state import StateTx, TraceStateTx
from passport.store.trace_rows import LotRow, StepRow
from signing.keys import SigningKey
from tests.helpers.chain import Chain, Party, out

NI = {"Ni": 500_000}


@pytest.fixture
def chain(ledger: Ledger, operator_key: SigningKey) -> Chain:
    return Chain(ledger, operator_key)


@pytest.fixture
def mine(chain: Chain) -> tuple[Party, str]:
    miner = chain.party("miner", "refiner", country="CA")
    return miner, chain.extract(miner, "urn:lot:ore-1", 1_000_000, NI)


def _forget(chain: Chain) -> None:
    """Take a chain whose mirror was broken on purpose out of the end-of-test check."""
    Chain.created.remove(chain)


def test_a_rejection_is_reproduced_and_leaves_no_trace(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    with pytest.raises(MassBalanceError):
        chain.transform(
            miner, "concentration", [("urn:lot:ore-1", h, 1_000_001)], [out("urn:lot:c", 1, NI)]
        )
    assert chain.mirror.rejections == 1
    chain.transform(
        miner, "concentration", [("urn:lot:ore-1", h, 400_000)], [out("urn:lot:c", 1, NI)]
    )
    chain.mirror.verify()
    assert chain.mirror.state.trace().holdings(["urn:lot:ore-1"], miner.did) == {
        "urn:lot:ore-1": 600_000
    }


def test_the_mirror_catches_a_store_that_accepts_what_the_ledger_rejects(
    chain: Chain, mine: tuple[Party, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    miner, h = mine

    def generous(self: MemoryTraceTx, lot_ids: Any, holder: str) -> dict[str, int]:
        return dict.fromkeys(lot_ids, 10**12)

    monkeypatch.setattr(MemoryTraceTx, "holdings", generous)
    _forget(chain)
    with pytest.raises(AssertionError, match="accepts what the ledger rejected"):
        chain.transform(
            miner, "concentration", [("urn:lot:ore-1", h, 1_000_001)], [out("urn:lot:c", 1, NI)]
        )


def test_the_mirror_catches_a_store_that_answers_otherwise(
    chain: Chain, mine: tuple[Party, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    miner, h = mine
    real = MemoryTraceTx.consume

    def leaky(self: MemoryTraceTx, holder: str, taken: Any) -> None:
        real(self, holder, [(lot, grams - 1) for lot, grams in taken])

    monkeypatch.setattr(MemoryTraceTx, "consume", leaky)
    chain.transform(
        miner, "concentration", [("urn:lot:ore-1", h, 400_000)], [out("urn:lot:c", 1, NI)]
    )
    _forget(chain)
    with pytest.raises(AssertionError, match=r"answers .*'lots'.*otherwise"):
        chain.mirror.verify()


def test_the_mirror_catches_a_row_the_database_does_not_have(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    extra = LotRow("urn:lot:ghost", h, miner.did, miner.facility, 1, NI, "x", None, None, {}, 0, "")
    chain.mirror.state.trace().insert_lots([extra])
    _forget(chain)
    with pytest.raises(AssertionError, match="other rows than the database"):
        chain.mirror.verify()


def test_every_trace_query_is_answered_from_memory() -> None:
    """The rules' trace interface is the whole of the SQL store's, and memory answers all of it
    itself (an abstract method left out would also make ``MemoryTraceTx()`` fail)."""
    sql = {n for n, f in inspect.getmembers(TraceTx, inspect.isfunction) if n[0] != "_"}
    assert sql, "TraceTx has methods"
    assert set(TraceStateTx.__abstractmethods__) == sql
    own = {n for n in sql if MemoryTraceTx.__dict__.get(n) is not None}
    assert own == sql, sorted(sql - own)


def test_memory_offers_the_rules_interface_and_nothing_of_the_database() -> None:
    """What memory does not keep (the log, metadata, checkpoints, challenges, tree nodes) is not
    in the rules' interface at all, so a rule cannot reach it (mypy checks the rules against
    :class:`StateTx`); memory has no such method either."""
    tx = MemoryTx()
    assert isinstance(tx, StateTx) and not isinstance(tx, Tx)
    for name in ("log_size", "meta", "latest_checkpoint", "count_challenges", "count_nodes"):
        assert hasattr(Tx, name) and not hasattr(StateTx, name) and not hasattr(tx, name)
    assert not hasattr(tx, "records_range")  # records are kept by hash, not in log order
    assert not hasattr(tx, "conn")
    assert isinstance(tx.trace(), MemoryTraceTx)
    assert tx.trace() is tx.trace()  # one state per transaction


@pytest.mark.parametrize(
    "kind", ["BatteryPassport", "PassportStatusChange", "PassportUpdate", "PassportMandate"]
)
def test_a_passport_kind_is_refused_in_memory(
    kind: str, ledger: Ledger, operator_key: SigningKey
) -> None:
    """Passport kinds need the passport tables: on a memory state their rule refuses the record
    with a typed error (a bundle's replay skips them) before reading anything."""
    rule = kinds.rule(kind)
    assert rule is not None and rule.handler is not None
    with ledger.repo.read() as tx:
        operator = tx.actor(operator_key.did)
    assert operator is not None and operator.head_hash is not None
    record = parse_record(ledger.record(operator.head_hash).body, max_bytes=1 << 20)
    ctx = AcceptContext("2026-06-01T00:00:00Z", 1, operator.did, operator)
    with pytest.raises(RuleViolationError, match="accepted by a database ledger"):
        rule.handler(MemoryTx(), ctx, record)


def test_a_duplicate_key_is_refused_like_a_primary_key() -> None:
    tt = MemoryTx().trace()
    step = StepRow(
        "sha256:aa", "Extraction", "did:x", "f", "CA", "extraction", "identity-preserved",
        "nickel", "sulfidic", "industrial", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
        None, None, None, 5,
    )  # fmt: skip
    tt.insert_step(step)
    with pytest.raises(NotKeptInMemoryError, match="duplicate primary key"):
        tt.insert_step(step)
    tt.new_holdings([("urn:lot:a", "did:x", 5)])
    with pytest.raises(NotKeptInMemoryError, match="trace_holdings"):
        tt.new_holdings([("urn:lot:a", "did:x", 1)])
    assert tt.holders("urn:lot:a") == {"did:x": 5}


def test_rows_read_are_snapshots() -> None:
    """Like rows read from a table, a lot read before it is consumed keeps what it said."""
    tt = MemoryTx().trace()
    lot = LotRow("urn:lot:a", "sha256:aa", "did:x", "f", 10, {"Ni": 7, "Co": 0, "Zz": 3}, "c",
                 None, None, {"s": {"Ni": 1}}, 0, "t")  # fmt: skip
    tt.insert_lots([lot])
    tt.new_holdings([("urn:lot:a", "did:x", 10)])
    before = tt.lot("urn:lot:a")
    tt.consume("did:x", [("urn:lot:a", 4)])
    assert before is not None and before.consumed_grams == 0
    after = tt.lot("urn:lot:a")
    assert after is not None and after.consumed_grams == 4
    assert after.elements == {"Ni": 7}  # the ppm columns keep known, non-zero contents
    assert tt.lots(["urn:lot:a"], with_credits=False)["urn:lot:a"].credits == {}
    assert tt.holdings(["urn:lot:a", "urn:lot:b"], "did:x") == {"urn:lot:a": 6}


def test_the_state_is_freed_by_reference_counting() -> None:
    """No cycle: the replay's state goes as soon as the verifier drops it, not at some later
    collection (the cyclic collector is paused while a bundle is checked)."""
    import gc
    import weakref

    tx = MemoryTx()
    tt = weakref.ref(tx.trace())
    gc.disable()
    try:
        del tx
        assert tt() is None
    finally:
        gc.enable()


_RACE = """
import threading
from passport.ledger import kinds
barrier = threading.Barrier(8)
found = []
def look():
    barrier.wait()
    found.append(kinds.rule("BatteryPassport") is not None)
threads = [threading.Thread(target=look) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(found)
"""


def test_threads_asking_first_for_a_passport_kind_all_find_it() -> None:
    """The passport kinds load on the first lookup that misses (they need SQLAlchemy, which
    takes a while to import): threads asking at once wait for it and each find the rule, none
    sees a half-filled registry (an API server's first passport appends)."""
    run = subprocess.run([sys.executable, "-c", _RACE], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str([True] * 8), run.stdout


def test_downstream_parties_agree_with_the_sql_store(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    """The read policy's downstream query (a recursive CTE in SQL, a walk in memory) names the
    same actors: step issuers and holders of lots made from the lot, at any depth."""
    chain = Chain(ledger, operator_key)
    miner, refiner, maker, buyer = (
        chain.party(r) for r in ("miner", "refiner", "cell-maker", "oem")
    )
    ore = chain.extract(miner, "urn:lot:dp-ore", 1000, {"Ni": 500_000})
    chain.give(miner, "urn:lot:dp-ore", ore, 1000, refiner)
    refined = chain.transform(refiner, "refining", [("urn:lot:dp-ore", ore, 1000)],
                              [out("urn:lot:dp-ref", 800, {"Ni": 600_000})])  # fmt: skip
    chain.give(refiner, "urn:lot:dp-ref", refined, 800, maker)
    cell = chain.transform(maker, "cell", [("urn:lot:dp-ref", refined, 800)],
                           [out("urn:lot:dp-cell", 700, {"Ni": 600_000})])  # fmt: skip
    chain.give(maker, "urn:lot:dp-cell", cell, 700, buyer)
    chain.mirror.catch_up()
    with ledger.repo.read() as tx:
        for lot in ("urn:lot:dp-ore", "urn:lot:dp-ref", "urn:lot:dp-cell"):
            sql = tx.trace().downstream_parties(lot)
            assert chain.mirror.state.trace().downstream_parties(lot) == sql, lot
        assert tx.trace().downstream_parties("urn:lot:dp-ore") == {
            refiner.did,
            maker.did,
            buyer.did,
        }
        assert tx.trace().downstream_parties("urn:lot:dp-cell") == set()
