"""``/log`` over HTTP: checkpoints verify under the log's key; inclusion and consistency proofs
verify with :mod:`signing.merkle`, exactly as an outsider would check them."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from passport.ledger.log import leaf_hash, verify_receipt
from passport.ledger.pipeline import Ledger
from signing import merkle
from signing.keys import SigningKey
from signing.note import open_checkpoint, verifier_key
from tests.conftest import Actors
from tests.helpers.api import assert_problem, client

__all__ = ["client"]


def vkey(log_key: SigningKey) -> str:
    return verifier_key("test.example/log", log_key.public_key_bytes)


def grow(actors: Actors, n: int) -> None:
    for _ in range(n):
        actors.add("miner")


def test_log_info_names_origin_key_and_size(
    client: TestClient, log_key: SigningKey, operator_key: SigningKey
) -> None:
    info = client.get("/log").json()
    assert info == {
        "origin": "test.example/log",
        "logVkey": vkey(log_key),
        "operatorDid": operator_key.did,
        "size": 1,
    }


def test_checkpoint_is_a_signed_note_verifying_under_the_log_key(
    client: TestClient, actors: Actors, log_key: SigningKey
) -> None:
    grow(actors, 3)
    response = client.get("/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    cp = open_checkpoint(response.text, [vkey(log_key)])
    assert (cp.origin, cp.size) == ("test.example/log", 4)
    old = open_checkpoint(client.get("/log/checkpoint", params={"size": 2}).text, [vkey(log_key)])
    assert old.size == 2
    assert_problem(client.get("/log/checkpoint", params={"size": 99}), 404, "not_found")
    assert_problem(client.get("/log/checkpoint", params={"size": -1}), 422, "request_invalid")
    assert_problem(client.get("/log/checkpoint", params={"size": "x"}), 422, "request_invalid")


def test_inclusion_proof_verifies_with_merkle(
    client: TestClient, ledger: Ledger, actors: Actors, log_key: SigningKey
) -> None:
    grow(actors, 5)
    with ledger.repo.read() as tx:
        row = tx.records_range(2, 3)[0]
    receipt = client.get(f"/log/inclusion/{row.hash}").json()
    cp = open_checkpoint(receipt["checkpoint"], [vkey(log_key)])
    assert receipt["leafIndex"] == 2 and receipt["treeSize"] == cp.size == 6
    merkle.verify_inclusion(
        leaf_hash(row.hash, row.accepted_at),
        receipt["leafIndex"],
        cp.size,
        [base64.b64decode(p) for p in receipt["inclusionProof"]],
        cp.root_hash,
    )
    verify_receipt(receipt, vkey(log_key))
    at4 = client.get(f"/log/inclusion/{row.hash}", params={"size": 4}).json()
    assert at4["treeSize"] == 4
    verify_receipt(at4, vkey(log_key))
    assert_problem(client.get(f"/log/inclusion/{row.hash}", params={"size": 2}), 404, "not_found")
    assert_problem(client.get("/log/inclusion/sha256:" + "1" * 64), 404, "not_found")


def test_consistency_proof_verifies_with_merkle(
    client: TestClient, actors: Actors, log_key: SigningKey
) -> None:
    grow(actors, 2)
    old = open_checkpoint(client.get("/log/checkpoint").text, [vkey(log_key)])
    grow(actors, 4)
    proof = client.get("/log/consistency", params={"old": old.size}).json()
    new = open_checkpoint(proof["checkpoint"], [vkey(log_key)])
    assert (proof["oldSize"], proof["newSize"]) == (old.size, new.size) == (3, 7)
    merkle.verify_consistency(
        old.size,
        new.size,
        old.root_hash,
        new.root_hash,
        [base64.b64decode(p) for p in proof["proof"]],
    )
    explicit = client.get("/log/consistency", params={"old": 2, "new": 5}).json()
    assert (explicit["oldSize"], explicit["newSize"]) == (2, 5)
    assert_problem(client.get("/log/consistency", params={"old": 5, "new": 2}), 404, "not_found")
    assert_problem(client.get("/log/consistency", params={"old": 0}), 404, "not_found")
    assert_problem(client.get("/log/consistency"), 422, "request_invalid")
    assert_problem(client.get("/log/consistency", params={"old": 2**70}), 422, "request_invalid")
