"""Large batches: steps 1 and 2a in the process pool, the per-transaction actor/key cache, and
the receipts computed from one node cache behave exactly like the serial path."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from passport.errors import BatchItemError, SchemaViolationError
from passport.ledger.audit import audit
from passport.ledger.log import verify_receipt
from passport.ledger.pipeline import PARALLEL_VERIFY_MIN, Ledger
from passport.records.envelope import sign_next
from signing.errors import ProofError
from signing.jcs import canonicalize
from signing.keys import SigningKey
from tests.conftest import rotation_chain

STAMP = "2026-11-22T10:00:00Z"
COUNT = PARALLEL_VERIFY_MIN + 44


def _seed(i: int) -> bytes:
    return hashlib.sha256(b"test-ledger-batches" + i.to_bytes(4, "big")).digest()


def rotations(ledger: Ledger, operator: SigningKey, count: int) -> list[dict[str, Any]]:
    """Register one actor, then ``count`` KeyRotation records of its chain (not appended)."""
    key = SigningKey.from_seed(_seed(0))
    did = key.did
    ledger.append(
        ledger.sign_new(
            operator, "ActorRegistration", {"id": key.did, "name": "R", "roles": ["miner"]}
        )
    )
    return rotation_chain(
        did, key, count, next_key=lambda i: SigningKey.from_seed(_seed(i + 1)), valid_from=STAMP
    )


@pytest.fixture
def parallel(ledger: Ledger) -> Any:
    led = Ledger(ledger.repo, log_key=ledger.log_key, workers=2)
    yield led
    if led._pool is not None:
        led._pool.shutdown()


def test_parallel_batch_matches_serial_and_audits(
    ledger: Ledger, parallel: Ledger, operator_key: SigningKey
) -> None:
    records = rotations(ledger, operator_key, COUNT)
    half = 20
    serial = ledger.append_batch(records[:half])  # below the pool threshold: serial
    assert len(records[half:]) >= PARALLEL_VERIFY_MIN
    pooled = parallel.append_batch([canonicalize(r) for r in records[half:]])
    vkey = ledger.info().log_vkey
    receipts = serial + pooled
    assert [r.leaf_index for r in receipts] == list(range(2, 2 + COUNT))
    for receipt in receipts:
        verify_receipt(receipt.to_dict(), vkey)
    # The same records again: existing receipts, against the latest checkpoint.
    again = parallel.append_batch(records[half:])
    assert all(r.existing for r in again)
    assert [r.leaf_index for r in again] == [r.leaf_index for r in pooled]
    for receipt in again:
        verify_receipt(receipt.to_dict(), vkey)
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=2)
    assert report.ok, report.findings
    assert report.records == 2 + COUNT


def test_parallel_batch_reports_step1_before_step2(
    ledger: Ledger, parallel: Ledger, operator_key: SigningKey
) -> None:
    records = rotations(ledger, operator_key, COUNT)
    forged = dict(records[3])
    forged["proof"] = dict(forged["proof"], proofValue=records[4]["proof"]["proofValue"])
    bad_schema = dict(records[200], credentialSubject={"nextKey": 5})
    batch: list[Any] = list(records)
    batch[3] = forged
    batch[200] = bad_schema
    with pytest.raises(BatchItemError) as err:
        parallel.append_batch(batch)
    assert err.value.index == 200
    assert isinstance(err.value.error, SchemaViolationError)
    with pytest.raises(BatchItemError) as serial_err:
        ledger.append_batch(batch)
    assert (serial_err.value.index, serial_err.value.error.message) == (
        err.value.index,
        err.value.error.message,
    )
    batch[200] = records[200]
    with pytest.raises(BatchItemError) as err:
        parallel.append_batch(batch)
    assert err.value.index == 3
    assert isinstance(err.value.error, ProofError)
    assert err.value.error.details["reason"] == "signature"
    assert "signature does not verify" in err.value.error.message
    assert ledger.info().size == 2


def test_parallel_batch_keeps_the_serial_precedence_over_later_rule_failures(
    ledger: Ledger, parallel: Ledger, operator_key: SigningKey
) -> None:
    # The pool parses and verifies; the rules run after it. A rule failure
    # early in the batch (record 10 signed by a key the ledger does not know, step 2b) must still
    # give way to a schema failure later in it (record 250), as in the serial path, and nothing
    # may be written.
    records = rotations(ledger, operator_key, COUNT)
    batch: list[Any] = list(records)
    del batch[10]  # the next rotation, now at index 10, is signed by the key record 10 named
    gap_index = 10
    batch[250] = dict(batch[250], credentialSubject={"nextKey": 5})
    for led in (parallel, ledger):
        with pytest.raises(BatchItemError) as err:
            led.append_batch(batch)
        assert err.value.index == 250
        assert isinstance(err.value.error, SchemaViolationError)
    batch[250] = records[251]
    for led in (parallel, ledger):
        with pytest.raises(BatchItemError) as err:
            led.append_batch(batch)
        assert err.value.index == gap_index
        assert err.value.error.code == "key_not_valid"
    # A signature failure later in the batch (step 2a) outranks the early rule failure too:
    # the rules have run on the first chunks by the time the pool reports it.
    late = len(batch) - 3
    batch[late] = dict(
        batch[late], proof=dict(batch[late]["proof"], proofValue=records[0]["proof"]["proofValue"])
    )
    for led in (parallel, ledger):
        with pytest.raises(BatchItemError) as err:
            led.append_batch(batch)
        assert err.value.index == late
        assert err.value.error.code == "proof_invalid"
    assert ledger.info().size == 2
    # and the whole batch goes through the parallel path
    receipts = parallel.append_batch(records)
    assert [r.leaf_index for r in receipts] == list(range(2, 2 + COUNT))


def test_parallel_batch_of_non_canonical_text_stores_canonical_bytes(
    ledger: Ledger, parallel: Ledger, operator_key: SigningKey
) -> None:
    # Workers send back the canonical bytes only when they differ from the input; pretty
    # JSON text differs, so the stored body and the hash must be those of the canonical form.
    import json

    records = rotations(ledger, operator_key, PARALLEL_VERIFY_MIN)
    receipts = parallel.append_batch([json.dumps(r, indent=1) for r in records])
    assert [r.record_hash for r in receipts] == [
        "sha256:" + hashlib.sha256(canonicalize(r)).hexdigest() for r in records
    ]
    stored = ledger.record(receipts[-1].record_hash)
    assert stored.body == canonicalize(records[-1])


def test_resubmission_after_the_chain_moved_on_returns_the_stored_receipt(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    # The ledger finds a resubmission through the issuer's chain position, not a hash lookup:
    # a record whose signing key was rotated away since, resent with a new one, in one batch.
    records = rotations(ledger, operator_key, 4)
    first = ledger.append_batch(records[:3])
    mixed = ledger.append_batch([records[0], records[3], records[1]])
    assert [r.existing for r in mixed] == [True, False, True]
    assert (mixed[0].leaf_index, mixed[0].accepted_at) == (
        first[0].leaf_index,
        first[0].accepted_at,
    )
    assert mixed[2].record_hash == first[1].record_hash
    # Another record at a taken position, validly signed by the current key, is a fork.
    fork = sign_next(
        SigningKey.from_seed(_seed(4)),
        "KeyRotation",
        {"nextKey": SigningKey.from_seed(b"\x09" * 32).multikey},
        issuer=records[0]["issuer"],
        head=(1, first[0].record_hash),
        valid_from=STAMP,
    )
    with pytest.raises(BatchItemError) as caught:
        ledger.append_batch([fork])
    assert caught.value.error.code == "chain_fork"
