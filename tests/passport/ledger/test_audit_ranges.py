"""The audit's ranges: the same findings whether it runs in one process or in a pool, and
whatever the range size, with ranges that split checkpoints, a log whose size is no multiple of
the range size, and tampering inside a worker's range, on a range boundary, or above the ranges
(the subtrees the main process combines)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import passport.ledger.audit as audit_module
from passport.forking import fork_is_safe  # what the audit imports as _fork_is_safe
from passport.ledger.audit import audit
from passport.ledger.pipeline import Ledger
from passport.records.envelope import record_hash
from passport.store.sql.tables import node_pos
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.passport.ledger.test_audit import body_of, sql

# (workers, CHUNK_LEVEL): one range in one process (the reference), then ranges of 1, 2, 4 and
# 8 leaves, in this process and in a pool of two.
CONFIGS = [(1, 10), (1, 2), (2, 0), (2, 1), (2, 2), (2, 3)]
SIZE = 13


@pytest.fixture(autouse=True)
def pools_even_for_small_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under pytest-xdist the workers start from a fork server; use the pool all the same."""
    monkeypatch.setattr(audit_module, "COLD_START_MIN_LEAVES", 0)


@pytest.fixture
def ranged(ledger: Ledger, actors: Actors, operator_key: SigningKey) -> Ledger:
    """13 leaves, one checkpoint per size (0..13): registrations (leaves 0, 1, 2, 7, 12),
    rotations, and a revocation (leaf 10) that makes leaf 9 suspect."""
    keys = [actors.add("miner"), actors.add("refiner")]
    for key in keys:
        nxt = SigningKey.generate()
        ledger.append(ledger.sign_new(key, "KeyRotation", {"nextKey": nxt.multikey}))
        ledger.append(
            ledger.sign_new(nxt, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
        )
    miner, k2, k3 = actors.add("miner"), SigningKey.generate(), SigningKey.generate()
    ledger.append(ledger.sign_new(miner, "KeyRotation", {"nextKey": k2.multikey}))
    suspect = ledger.append(ledger.sign_new(k2, "KeyRotation", {"nextKey": k3.multikey}))
    ledger.append(
        ledger.sign_new(
            operator_key,
            "KeyRevocation",
            {
                "actor": miner.did,
                "key": k2.multikey,
                "compromisedFrom": suspect.accepted_at,
                "reason": "test",
            },
        )
    )
    ledger.append(ledger.sign_new(k3, "KeyRotation", {"nextKey": SigningKey.generate().multikey}))
    actors.add("recycler")
    assert ledger.info().size == SIZE
    return ledger


def hash_of(ledger: Ledger, leaf: int) -> str:
    with ledger.repo.read() as tx:
        return tx.records_range(leaf, leaf + 1)[0].hash


def outcome(
    ledger: Ledger, workers: int, level: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setattr(audit_module, "CHUNK_LEVEL", level)
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=workers).to_dict()
    del report["seconds"]
    return report


def outcomes(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The report of the reference configuration, after checking every other one equals it."""
    reference = outcome(ledger, *CONFIGS[0], monkeypatch)
    for workers, level in CONFIGS[1:]:
        assert outcome(ledger, workers, level, monkeypatch) == reference, (workers, level)
    return reference


def test_clean_ledger_audits_alike_in_every_range_size(
    ranged: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = outcomes(ranged, monkeypatch)
    assert report["ok"], report["findings"]
    assert report["records"] == SIZE and report["checkpoints"] == SIZE + 1
    assert report["nodes"] == 13 + 6 + 3 + 1
    assert [s["leafIndex"] for s in report["suspect"]] == [9]


def test_chunk_level_changes_the_ranges(ranged: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The configurations really differ: with 2-leaf ranges the pool gets 7 ranges."""
    seen: list[tuple[int, int]] = []
    real = audit_module._Auditor._spans

    def spans(self: Any, size: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = real(self, size)
        seen.extend(out)
        return out

    monkeypatch.setattr(audit_module._Auditor, "_spans", spans)
    assert outcome(ranged, 2, 1, monkeypatch)["ok"]
    assert seen == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 13)]


Tamper = Callable[[Ledger], None]


def flip_byte(leaf: int) -> Tamper:
    def tamper(led: Ledger) -> None:
        body = bytearray(body_of(led, leaf))
        body[40] = ord("X") if body[40] != ord("X") else ord("Y")
        sql(led, "UPDATE records SET body = :b WHERE leaf_index = :i", b=bytes(body), i=leaf)

    return tamper


def resign_free_edit(leaf: int) -> Tamper:
    """Change the record and its stored id together: only the signature can tell."""

    def tamper(led: Ledger) -> None:
        body = body_of(led, leaf).replace(b'"name":"Actor', b'"name":"Actxr', 1)
        assert body != body_of(led, leaf)
        sql(
            led,
            "UPDATE records SET body = :b, hash = :h WHERE leaf_index = :i",
            b=body,
            h=record_hash(body),
            i=leaf,
        )

    return tamper


def set_node(level: int, index: int) -> Tamper:
    def tamper(led: Ledger) -> None:
        sql(
            led,
            "UPDATE tree_nodes SET hash = :h WHERE pos = :p",
            h=b"\x00" * 32,
            p=node_pos(level, index),
        )

    return tamper


def drop_node(level: int, index: int) -> Tamper:
    def tamper(led: Ledger) -> None:
        sql(led, "DELETE FROM tree_nodes WHERE pos = :p", p=node_pos(level, index))

    return tamper


def both(*tampers: Tamper) -> Tamper:
    def tamper(led: Ledger) -> None:
        for t in tampers:
            t(led)

    return tamper


# (tamper, expected first finding: check, leaf index or None). A deleted record makes the
# row count differ from the log size first; the leaf it names is in the finding after that.
CASES: dict[str, tuple[Tamper, str, int | None]] = {
    "byte in a record mid-range": (flip_byte(5), "record_hash", 5),
    "byte in the last record": (flip_byte(12), "record_hash", 12),
    "edit with a matching id": (resign_free_edit(7), "record_proof", 7),
    "index column": (
        lambda led: sql(led, "UPDATE records SET kind = 'Other' WHERE leaf_index = 9"),
        "record_index",
        9,
    ),
    "acceptance time not in the ledger's form": (
        lambda led: sql(
            led,
            "UPDATE records SET accepted_at = :a WHERE leaf_index = 7",
            a="2026-01-01T00:00:00Z",
        ),
        "accepted_at",
        7,
    ),
    "acceptance time going backwards": (
        lambda led: sql(
            led,
            "UPDATE records SET accepted_at = :a WHERE leaf_index = 4",
            a="2000-01-01T00:00:00.000000Z",
        ),
        "accepted_at",
        4,
    ),
    "record deleted mid-range": (
        lambda led: sql(led, "DELETE FROM records WHERE leaf_index = 5"),
        "leaf_order",
        5,
    ),
    "record deleted at a range's end": (
        lambda led: sql(led, "DELETE FROM records WHERE leaf_index = 7"),
        "leaf_order",
        7,
    ),
    "two records deleted across a range boundary": (
        lambda led: sql(led, "DELETE FROM records WHERE leaf_index IN (7, 8)"),
        "leaf_order",
        7,
    ),
    "last record deleted": (
        lambda led: sql(led, "DELETE FROM records WHERE leaf_index = 12"),
        "leaf_order",
        12,
    ),
    "leaf node": (set_node(0, 10), "tree_node", 10),
    "level-1 node": (set_node(1, 2), "tree_node", 5),
    "level-2 node": (set_node(2, 1), "tree_node", 7),
    "level-3 node": (set_node(3, 0), "tree_node", 7),
    "missing level-2 node": (drop_node(2, 2), "tree_node", 11),
    "extra node": (
        lambda led: sql(
            led,
            "INSERT INTO tree_nodes (pos, hash) VALUES (:p, :h)",
            p=node_pos(1, 40),
            h=b"\x01" * 32,
        ),
        "tree_node",
        None,
    ),
    "node before a bad record": (both(set_node(1, 1), flip_byte(9)), "tree_node", 3),
    "record before a bad node": (both(flip_byte(2), set_node(0, 10)), "record_hash", 2),
    "node completed by a bad record": (both(set_node(2, 1), flip_byte(7)), "record_hash", 7),
    "checkpoint root inside a range": (
        lambda led: sql(led, "UPDATE checkpoints SET root = :r WHERE size = 6", r=b"\x00" * 32),
        "checkpoint",
        None,
    ),
    "checkpoint note inside a range": (
        lambda led: sql(
            led,
            "UPDATE checkpoints SET note = replace(note, 'test.example', 'evil.example') "
            "WHERE size = 11",
        ),
        "checkpoint",
        None,
    ),
    "checkpoint at size 0": (
        lambda led: sql(led, "UPDATE checkpoints SET root = :r WHERE size = 0", r=b"\x00" * 32),
        "checkpoint",
        None,
    ),
    "checkpoint beyond the log": (
        lambda led: sql(
            led,
            "INSERT INTO checkpoints (size, root, note, created_at) "
            "SELECT 99, root, note, created_at FROM checkpoints WHERE size = 13",
        ),
        "checkpoint",
        None,
    ),
    "latest checkpoint deleted": (
        lambda led: sql(led, "DELETE FROM checkpoints WHERE size = 13"),
        "checkpoint",
        None,
    ),
    "key table": (
        lambda led: sql(led, "UPDATE actor_keys SET state = 'active' WHERE state = 'revoked'"),
        "key_table",
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_first_finding_is_the_same_in_every_range_size(
    ranged: Ledger, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    tamper, check, leaf = CASES[case]
    hashes = {i: hash_of(ranged, i) for i in range(SIZE)}
    tamper(ranged)
    report = outcomes(ranged, monkeypatch)
    assert not report["ok"]
    first = report["findings"][0]
    if check == "leaf_order":
        assert first["check"] == "log_size"
        first = report["findings"][1]
    assert (first["check"], first["leafIndex"]) == (check, leaf), report["findings"]
    if leaf is not None and check != "leaf_order":
        # Named by the stored id of the record at that leaf (for record_hash: its stored id).
        with ranged.repo.read() as tx:
            stored = tx.records_range(leaf, leaf + 1)[0].hash
        assert first["recordHash"] == stored
        if check != "record_proof":
            assert stored == hashes[leaf]


def test_leaf_order_messages_name_the_next_stored_row(
    ranged: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql(ranged, "DELETE FROM records WHERE leaf_index IN (7, 8)")
    report = outcomes(ranged, monkeypatch)
    assert report["findings"][-1]["message"] == "leaf 7 is missing (next stored row: leaf 9)"


def test_missing_last_leaves_name_no_next_row(
    ranged: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql(ranged, "DELETE FROM records WHERE leaf_index >= 11")
    report = outcomes(ranged, monkeypatch)
    assert report["findings"][-1]["message"] == "leaf 11 is missing"


def test_pool_forks_only_beside_threads_known_to_be_safe() -> None:
    """A thread that might be inside SQLite or OpenSSL at the fork rules fork out."""
    assert fork_is_safe() == all(
        t is threading.current_thread()
        or type(t).__name__ == "_ExecutorManagerThread"
        or t.name == "QueueFeederThread"
        or getattr(t, "fork_safe", False) is True  # e.g. a WAL checkpointer of another test
        for t in threading.enumerate()
    )
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert not fork_is_safe()
        assert audit_module._pool_context().get_start_method() == "forkserver"
    finally:
        stop.set()
        other.join()


_FORKED_AUDIT = """
import json, sys
import passport.ledger.audit as audit_module
from passport.ledger.pipeline import Ledger
from passport.store.sql.repository import Repository
audit_module.CHUNK_LEVEL = 1
repo = Repository(sys.argv[1])
info = Ledger(repo).info()
method = audit_module._pool_context().get_start_method()
report = audit_module.audit(repo, info.origin, info.log_vkey, workers=2).to_dict()
del report["seconds"]
print(json.dumps({"method": method, "report": report}))
"""


def test_forked_pool_in_a_single_threaded_process_finds_the_same(
    ranged: Ledger, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_node(1, 4)(ranged)  # completed by leaf 9, in the fifth of seven 2-leaf ranges
    reference = outcome(ranged, 1, 10, monkeypatch)
    assert reference["findings"][0]["leafIndex"] == 9
    proc = subprocess.run(
        [sys.executable, "-c", _FORKED_AUDIT, db_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["method"] == "fork"
    assert out["report"] == reference


def test_small_log_is_audited_in_process_rather_than_wait_for_a_cold_fork_server(
    ranged: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "COLD_START_MIN_LEAVES", SIZE + 1)
    monkeypatch.setattr(audit_module, "_started_servers", set())
    monkeypatch.setattr(audit_module, "_fork_is_safe", lambda: False)
    pools: list[object] = []
    real = ProcessPoolExecutor

    def pool(*args: Any, **kwargs: Any) -> Any:
        pools.append(kwargs.get("mp_context"))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit_module, "ProcessPoolExecutor", pool)
    reference = outcome(ranged, 1, 10, monkeypatch)
    assert outcome(ranged, 2, 1, monkeypatch) == reference and not pools
    monkeypatch.setattr(audit_module, "COLD_START_MIN_LEAVES", SIZE)
    assert outcome(ranged, 2, 1, monkeypatch) == reference and len(pools) == 1
    monkeypatch.setattr(audit_module, "COLD_START_MIN_LEAVES", SIZE + 1)
    assert outcome(ranged, 2, 1, monkeypatch) == reference and len(pools) == 2  # now warm
