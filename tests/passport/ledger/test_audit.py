"""The audit against an operator (or intruder) who edits the database behind the ledger's back.

Each test tampers with the real stored rows (SQLite file or PostgreSQL schema) the way an attacker
with database access would, then checks that the audit fails and names the first bad leaf."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from passport.ledger.audit import AuditReport, audit
from passport.ledger.pipeline import Ledger
from passport.store.sql.tables import node_pos
from signing.keys import SigningKey
from tests.conftest import Actors


def run_audit(ledger: Ledger, workers: int = 1) -> AuditReport:
    info = ledger.info()
    return audit(ledger.repo, info.origin, info.log_vkey, workers=workers)


@pytest.fixture
def busy(ledger: Ledger, actors: Actors) -> Ledger:
    """A ledger with a few actors, rotations and a batch: 12 leaves."""
    keys = [actors.add("miner"), actors.add("refiner"), actors.add("oem")]
    for key in keys:
        nxt = SigningKey.generate()
        ledger.append(ledger.sign_new(key, "KeyRotation", {"nextKey": nxt.multikey}))
        ledger.append(
            ledger.sign_new(nxt, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
        )
    actors.add("certifier")
    actors.add("recycler")
    assert ledger.info().size == 12
    return ledger


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.repo.engine.begin() as conn:
        conn.execute(text(statement), params)


def body_of(ledger: Ledger, leaf: int) -> bytes:
    with ledger.repo.read() as tx:
        return tx.records_range(leaf, leaf + 1)[0].body


def test_clean_ledger_audits_ok_with_one_and_many_workers(busy: Ledger) -> None:
    for workers in (1, 2):
        report = run_audit(busy, workers)
        assert report.ok, report.findings
        assert report.records == 12 and report.checkpoints == 13
        assert report.nodes == 12 + 6 + 3 + 1


@pytest.mark.parametrize("offset", [0, 57, -2])
def test_one_changed_byte_in_a_record_is_named(busy: Ledger, offset: int) -> None:
    body = bytearray(body_of(busy, 5))
    pos = offset % len(body)
    body[pos] = ord("X") if body[pos] != ord("X") else ord("Y")
    sql(busy, "UPDATE records SET body = :b WHERE leaf_index = 5", b=bytes(body))
    report = run_audit(busy)
    assert not report.ok
    assert report.findings[0].leaf_index == 5
    assert report.findings[0].check == "record_hash"


def test_rewritten_record_with_matching_hash_fails_its_signature(busy: Ledger) -> None:
    from passport.records.envelope import record_hash

    tampered = body_of(busy, 7).replace(b"2026", b"2025", 1)
    sql(
        busy,
        "UPDATE records SET body = :b, hash = :h WHERE leaf_index = 7",
        b=tampered,
        h=record_hash(tampered),
    )
    report = run_audit(busy)
    assert not report.ok and report.findings[0].leaf_index == 7
    assert report.findings[0].check in ("record_proof", "chain")


def test_deleted_record_is_named(busy: Ledger) -> None:
    sql(busy, "DELETE FROM records WHERE leaf_index = 4")
    report = run_audit(busy)
    assert not report.ok
    assert any(f.leaf_index == 4 for f in report.findings)


def test_deleted_last_record_is_caught(busy: Ledger) -> None:
    sql(busy, "DELETE FROM records WHERE leaf_index = 11")
    assert not run_audit(busy).ok


def test_swapped_rows_are_caught(busy: Ledger) -> None:
    # Swap the leaf positions of two records of different issuers (their chains stay intact).
    sql(busy, "UPDATE records SET leaf_index = -1 WHERE leaf_index = 10")
    sql(busy, "UPDATE records SET leaf_index = 10 WHERE leaf_index = 11")
    sql(busy, "UPDATE records SET leaf_index = 11 WHERE leaf_index = -1")
    report = run_audit(busy)
    assert not report.ok
    assert report.findings[0].leaf_index == 10


@pytest.mark.parametrize(("level", "index"), [(0, 3), (1, 2), (2, 1), (3, 0)])
def test_changed_tree_hash_is_named(busy: Ledger, level: int, index: int) -> None:
    sql(
        busy,
        "UPDATE tree_nodes SET hash = :h WHERE pos = :p",
        h=b"\x00" * 32,
        p=node_pos(level, index),
    )
    report = run_audit(busy)
    assert not report.ok
    assert report.findings[0].check == "tree_node"
    assert report.findings[0].leaf_index == (index + 1) * 2**level - 1


def test_extra_tree_node_is_caught(busy: Ledger) -> None:
    sql(
        busy,
        "INSERT INTO tree_nodes (pos, hash) VALUES (:p, :h)",
        p=node_pos(0, 99),
        h=b"\x01" * 32,
    )
    assert not run_audit(busy).ok


TamperCp = Callable[[Ledger], None]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda led: sql(led, "UPDATE checkpoints SET root = :r WHERE size = 6", r=b"\x00" * 32),
        lambda led: sql(
            led,
            "UPDATE checkpoints SET note = replace(note, 'test.example', 'evil.example') "
            "WHERE size = 6",
        ),
        lambda led: sql(led, "DELETE FROM checkpoints WHERE size = 12"),
    ],
)
def test_tampered_checkpoints_are_caught(busy: Ledger, tamper: TamperCp) -> None:
    tamper(busy)
    report = run_audit(busy)
    assert not report.ok
    assert report.findings[0].check == "checkpoint"


def test_rewritten_history_is_caught_by_a_client_holding_an_old_checkpoint(
    busy: Ledger, operator_key: SigningKey
) -> None:
    """The operator holds the log key, so it can drop its last record and re-sign a consistent
    shorter log that passes its own audit. What it cannot do is fool anyone who kept the old
    checkpoint: the consistency proof from that checkpoint to any later one fails."""
    import base64

    from passport.records.envelope import build_record, sign_record
    from signing import merkle
    from signing.errors import MerkleProofError
    from signing.note import open_checkpoint

    vkey = busy.info().log_vkey
    kept = open_checkpoint(busy.checkpoint(), [vkey])  # a client saved this checkpoint
    last = busy.repo.read
    with last() as tx:
        dropped = tx.records_range(11, 12)[0]
        previous = tx.records_range(10, 11)[0]
    # Drop leaf 11 and every trace of it, then re-sign as if it had never been.
    sql(busy, "DELETE FROM records WHERE leaf_index = 11")
    for level, index in ((0, 11), (1, 5), (2, 2)):  # the perfect subtrees leaf 11 completed
        sql(busy, "DELETE FROM tree_nodes WHERE pos = :p", p=node_pos(level, index))
    sql(busy, "DELETE FROM checkpoints WHERE size = 12")
    sql(busy, "DELETE FROM actor_keys WHERE added_by = :h", h=dropped.hash)
    sql(busy, "DELETE FROM actors WHERE registration = :h", h=dropped.hash)
    sql(
        busy,
        "UPDATE actors SET head_sequence = :s, head_hash = :h WHERE did = :d",
        s=previous.sequence,
        h=previous.hash,
        d=previous.issuer,
    )
    sql(busy, "UPDATE log_state SET size = 11")
    assert run_audit(busy).ok  # a consistent rewrite passes the operator's own audit...
    seq, prev = busy.chain_head(operator_key.did)
    for i in range(2):
        unsigned = build_record(
            "ActorRegistration",
            issuer=operator_key.did,
            subject={"id": SigningKey.generate().did, "name": f"N{i}", "roles": ["miner"]},
            sequence=seq + 1,
            previous=prev,
            valid_from="2026-11-22T10:00:00Z",
        )
        seq, prev = seq + 1, busy.append(sign_record(unsigned, operator_key)).record_hash
    new = open_checkpoint(busy.checkpoint(), [vkey])
    assert new.size == 13
    proof = [base64.b64decode(p) for p in busy.consistency(12, 13)["proof"]]
    with pytest.raises(MerkleProofError):  # ...but not the client's consistency check
        merkle.verify_consistency(12, 13, kept.root_hash, new.root_hash, proof)


def test_key_table_tamper_is_caught(busy: Ledger) -> None:
    sql(busy, "UPDATE actor_keys SET state = 'active' WHERE state = 'rotated'")
    report = run_audit(busy)
    assert not report.ok and report.findings[0].check == "key_table"
