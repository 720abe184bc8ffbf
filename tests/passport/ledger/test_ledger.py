"""The append pipeline against its threats: forks, gaps, replays, tampering, forged and stale keys,
wrong roles, bad input. Every rejection must change nothing."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from passport.errors import (
    BatchItemError,
    ChainGapError,
    ChainPreviousMismatchError,
    ForkError,
    KeyNotValidError,
    KeyRevokedError,
    KeyRotatedError,
    LedgerStateError,
    MalformedRecordError,
    RecordTooLargeError,
    RoleNotAllowedError,
    RuleViolationError,
    SchemaViolationError,
    UnknownIssuerError,
    UnknownKindError,
)
from passport.ledger.audit import audit
from passport.ledger.log import verify_receipt
from passport.ledger.pipeline import Ledger
from passport.records.envelope import build_record, sign_record
from passport.store.rows import StoredRecord
from signing import merkle
from signing.errors import MerkleProofError, ProofError
from signing.keys import SigningKey
from signing.note import open_checkpoint
from tests.conftest import Actors


def state(ledger: Ledger) -> tuple[int, int, str]:
    """(log size, record rows, latest checkpoint): must not move on a rejection."""
    with ledger.repo.read() as tx:
        size, _ = tx.log_size()
        cp = tx.latest_checkpoint()
        return size, tx.count_records(), cp.note if cp else ""


def rotation(ledger: Ledger, key: SigningKey, next_key: SigningKey | None = None) -> dict[str, Any]:
    nxt = next_key or SigningKey.generate()
    return ledger.sign_new(key, "KeyRotation", {"nextKey": nxt.multikey})


def registration(
    ledger: Ledger, operator: SigningKey, key: SigningKey, role: str = "miner"
) -> dict[str, Any]:
    return ledger.sign_new(
        operator, "ActorRegistration", {"id": key.did, "name": "X", "roles": [role]}
    )


def test_init_registers_operator_and_signs_checkpoint(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    info = ledger.info()
    assert info.size == 1
    assert info.operator_did == operator_key.did
    cp = open_checkpoint(ledger.checkpoint(), [info.log_vkey])
    assert (cp.origin, cp.size) == ("test.example/log", 1)
    # initialising again is a no-op, and another operator key is refused
    again, created = ledger.initialise(operator_key, "other/origin", "Other")
    assert not created and again.origin == "test.example/log"
    with pytest.raises(Exception, match="another operator key"):
        ledger.initialise(SigningKey.generate(), "x", "y")


def test_receipt_verifies_offline_and_resubmission_returns_it(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    record = registration(ledger, operator_key, SigningKey.generate())
    receipt = ledger.append(record)
    assert not receipt.existing and receipt.leaf_index == 1
    verify_receipt(receipt.to_dict(), ledger.info().log_vkey)
    before = state(ledger)
    again = ledger.append(json.dumps(record))  # a safe retry: same bytes, same receipt
    assert again.existing and again.record_hash == receipt.record_hash
    assert again.leaf_index == receipt.leaf_index and again.accepted_at == receipt.accepted_at
    assert state(ledger) == before


def test_receipt_with_tampered_proof_or_time_fails(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    ledger.append(registration(ledger, operator_key, SigningKey.generate()))
    receipt = ledger.append(registration(ledger, operator_key, SigningKey.generate())).to_dict()
    vkey = ledger.info().log_vkey
    bad_time = dict(receipt, acceptedAt="2020-01-01T00:00:00.000000Z")
    with pytest.raises(MerkleProofError):
        verify_receipt(bad_time, vkey)
    proof = [base64.b64decode(p) for p in receipt["inclusionProof"]]
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    bad_proof = dict(receipt, inclusionProof=[base64.b64encode(p).decode() for p in proof])
    with pytest.raises(MerkleProofError):
        verify_receipt(bad_proof, vkey)


def test_fork_is_rejected_and_changes_nothing(ledger: Ledger, operator_key: SigningKey) -> None:
    first = registration(ledger, operator_key, SigningKey.generate())
    rival = registration(
        ledger, operator_key, SigningKey.generate()
    )  # same sequence, other content
    assert first["chain"] == rival["chain"]
    ledger.append(first)
    before = state(ledger)
    with pytest.raises(ForkError):
        ledger.append(rival)
    assert state(ledger) == before


def test_gap_and_wrong_previous_are_rejected(ledger: Ledger, operator_key: SigningKey) -> None:
    good = registration(ledger, operator_key, SigningKey.generate())
    unsigned = {k: v for k, v in good.items() if k != "proof"}
    skipped = copy.deepcopy(unsigned)
    skipped["chain"]["sequence"] += 1
    before = state(ledger)
    with pytest.raises(ChainGapError):
        ledger.append(sign_record(skipped, operator_key))
    wrong_prev = copy.deepcopy(unsigned)
    wrong_prev["chain"]["previous"] = "sha256:" + "0" * 64
    with pytest.raises(ChainPreviousMismatchError):
        ledger.append(sign_record(wrong_prev, operator_key))
    assert state(ledger) == before


def test_tampered_record_is_rejected(ledger: Ledger, operator_key: SigningKey) -> None:
    record = registration(ledger, operator_key, SigningKey.generate())
    record["credentialSubject"]["name"] = "Someone else"
    before = state(ledger)
    with pytest.raises(ProofError) as err:
        ledger.append(record)
    assert err.value.details["reason"] == "signature"
    assert state(ledger) == before


def test_forged_signature_and_foreign_key_are_rejected(
    ledger: Ledger, operator_key: SigningKey, actors: Actors
) -> None:
    miner = actors.add("miner")
    mallory = SigningKey.generate()
    unsigned = build_record(
        "KeyRotation",
        issuer=miner.did,
        subject={"nextKey": SigningKey.generate().multikey},
        sequence=1,
        previous=None,
        valid_from="2026-11-22T10:00:00Z",
    )
    before = state(ledger)
    # Mallory signs but claims the miner's key: the signature does not verify.
    forged = sign_record(unsigned, mallory)
    forged["proof"]["verificationMethod"] = f"{miner.did}#{miner.multikey}"
    with pytest.raises(ProofError):
        ledger.append(forged)
    # Mallory signs with her own key under the miner's identity: not a key of the miner.
    with pytest.raises(KeyNotValidError):
        ledger.append(sign_record(unsigned, mallory))
    assert state(ledger) == before


def test_unknown_issuer_and_wrong_role(ledger: Ledger, actors: Actors) -> None:
    stranger = SigningKey.generate()
    before = state(ledger)
    with pytest.raises(UnknownIssuerError):
        ledger.append(rotation(ledger, stranger))
    miner = actors.add("miner")
    before = state(ledger)
    with pytest.raises(RoleNotAllowedError):
        ledger.append(
            ledger.sign_new(
                miner, "ActorRegistration", {"id": stranger.did, "name": "S", "roles": ["oem"]}
            )
        )
    assert state(ledger) == before


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda r: r["credentialSubject"].pop("roles"), SchemaViolationError),
        (lambda r: r["credentialSubject"].update(roles=["wizard"]), SchemaViolationError),
        (lambda r: r.update(type=["VerifiableCredential", "Nonsense"]), UnknownKindError),
        (lambda r: r.update(extra=1), SchemaViolationError),
        (lambda r: r["proof"].update(cryptosuite="ecdsa-jcs-2019"), SchemaViolationError),
        (lambda r: r["chain"].update(sequence=0), SchemaViolationError),
        (lambda r: r.update(validFrom="2026-13-45T99:00:00Z"), MalformedRecordError),
    ],
)
def test_bad_input_gets_a_typed_error(
    ledger: Ledger, operator_key: SigningKey, mutate: Any, error: type[Exception]
) -> None:
    record = registration(ledger, operator_key, SigningKey.generate())
    mutate(record)
    before = state(ledger)
    with pytest.raises(error):
        ledger.append(record)
    assert state(ledger) == before


def test_schema_errors_are_all_reported(ledger: Ledger, operator_key: SigningKey) -> None:
    record = registration(ledger, operator_key, SigningKey.generate())
    record["credentialSubject"].update(country="germany", roles=[])
    with pytest.raises(SchemaViolationError) as err:
        ledger.append(record)
    pointers = {p["pointer"] for p in err.value.details["problems"]}
    assert {"/credentialSubject/country", "/credentialSubject/roles"} <= pointers


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1,2]", b'{"a":1,"a":2}', b'{"x": NaN}', b'{"s":"\\ud800"}', b"\xff\xfe"],
)
def test_unusable_bytes_are_rejected(ledger: Ledger, raw: bytes) -> None:
    before = state(ledger)
    with pytest.raises((MalformedRecordError, SchemaViolationError)):
        ledger.append(raw)
    assert state(ledger) == before


def test_size_limit_is_checked_before_parsing(ledger: Ledger) -> None:
    ledger.max_record_bytes = 1024
    with pytest.raises(RecordTooLargeError):
        ledger.append(b"{" + b" " * 2000 + b"}")


def test_rotation_retires_the_old_key(ledger: Ledger, actors: Actors) -> None:
    miner = actors.add("miner")
    successor = SigningKey.generate()
    ledger.append(rotation(ledger, miner, successor))
    before = state(ledger)
    with pytest.raises(KeyRotatedError):
        ledger.append(rotation(ledger, miner))
    assert state(ledger) == before
    # the new key signs for the same actor and continues its chain
    receipt = ledger.append(rotation(ledger, successor))
    assert ledger.record(receipt.record_hash).issuer == miner.did
    assert ledger.chain_head(miner.did)[0] == 2
    report = audit(ledger.repo, ledger.info().origin, ledger.info().log_vkey, workers=1)
    assert report.ok, report.findings


def test_revocation_rejects_later_records_and_flags_suspect_ones(
    ledger: Ledger, operator_key: SigningKey, actors: Actors
) -> None:
    miner = actors.add("miner")
    r1 = ledger.append(rotation(ledger, miner, k2 := SigningKey.generate()))
    r2 = ledger.append(rotation(ledger, k2, k3 := SigningKey.generate()))
    replacement = SigningKey.generate()
    # k3 (current) compromised from just before r2 was accepted: r2 is suspect, r1 is not.
    ledger.append(
        ledger.sign_new(
            operator_key,
            "KeyRevocation",
            {
                "actor": miner.did,
                "key": k2.multikey,
                "compromisedFrom": r2.accepted_at,
                "reason": "laptop stolen",
            },
        )
    )
    with pytest.raises(RuleViolationError, match="nextKey"):
        ledger.append(
            ledger.sign_new(
                operator_key,
                "KeyRevocation",
                {
                    "actor": miner.did,
                    "key": k3.multikey,
                    "compromisedFrom": r2.accepted_at,
                    "reason": "x",
                },
            )
        )
    ledger.append(
        ledger.sign_new(
            operator_key,
            "KeyRevocation",
            {
                "actor": miner.did,
                "key": k3.multikey,
                "compromisedFrom": r2.accepted_at,
                "reason": "laptop stolen",
                "nextKey": replacement.multikey,
            },
        )
    )
    before = state(ledger)
    with pytest.raises(KeyRevokedError):
        ledger.append(rotation(ledger, k3))
    assert state(ledger) == before
    ledger.append(rotation(ledger, replacement))
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=1)
    assert report.ok, report.findings
    suspect = {s["recordHash"] for s in report.suspect}
    assert r2.record_hash in suspect and r1.record_hash not in suspect


def test_batch_is_all_or_nothing(ledger: Ledger, operator_key: SigningKey) -> None:
    a = registration(ledger, operator_key, SigningKey.generate())
    unsigned = {k: v for k, v in a.items() if k != "proof"}
    b = copy.deepcopy(unsigned)
    b["chain"] = {"sequence": a["chain"]["sequence"] + 1, "previous": "sha256:" + "1" * 64}
    b["credentialSubject"]["id"] = SigningKey.generate().did
    before = state(ledger)
    with pytest.raises(BatchItemError) as err:
        ledger.append_batch([a, sign_record(b, operator_key)])
    assert err.value.index == 1 and isinstance(err.value.error, ChainPreviousMismatchError)
    assert state(ledger) == before


def test_batch_appends_chain_and_log(ledger: Ledger, operator_key: SigningKey) -> None:
    records: list[dict[str, Any]] = []
    seq, prev = ledger.chain_head(operator_key.did)
    from passport.records.envelope import record_hash
    from signing.jcs import canonicalize

    for i in range(40):
        subject = {"id": SigningKey.generate().did, "name": f"A{i}", "roles": ["miner"]}
        unsigned = build_record(
            "ActorRegistration",
            issuer=operator_key.did,
            subject=subject,
            sequence=seq + 1 + i,
            previous=prev,
            valid_from="2026-11-22T10:00:00Z",
        )
        signed = sign_record(unsigned, operator_key)
        prev = record_hash(canonicalize(signed))
        records.append(signed)
    receipts = ledger.append_batch(records)
    assert [r.leaf_index for r in receipts] == list(range(1, 41))
    vkey = ledger.info().log_vkey
    for r in receipts:
        verify_receipt(r.to_dict(), vkey)


def test_consistency_between_every_pair_of_checkpoints(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    for _ in range(9):
        ledger.append(registration(ledger, operator_key, SigningKey.generate()))
    vkey = ledger.info().log_vkey
    roots = {}
    for size in range(1, 11):
        roots[size] = open_checkpoint(ledger.checkpoint(size), [vkey]).root_hash
    for old in range(1, 11):
        for new in range(old, 11):
            proof = [base64.b64decode(p) for p in ledger.consistency(old, new)["proof"]]
            merkle.verify_consistency(old, new, roots[old], roots[new], proof)


def test_sequences_beyond_32_bits_are_stored(ledger: Ledger, operator_key: SigningKey) -> None:
    # chain.sequence may reach 2**53 - 1 (envelope schema); migration 0004 widened the columns.
    big = 2**53 - 1
    with ledger.repo.write() as tx:
        tx.insert_records(
            [
                StoredRecord(
                    leaf_index=10**6,
                    hash="sha256:" + "ab" * 32,
                    issuer="did:web:big.example",
                    sequence=big,
                    kind="KeyRotation",
                    verification_method="did:web:big.example#k",
                    accepted_at="2026-01-01T00:00:00Z",
                    body=b"{}",
                )
            ]
        )
        tx.set_actor_head(operator_key.did, big, "sha256:" + "ab" * 32)
    with ledger.repo.read() as tx:
        assert tx.record_by_issuer_sequence("did:web:big.example", big) is not None
        actor = tx.actor(operator_key.did)
        assert actor is not None and actor.head_sequence == big


def test_a_populated_ledger_is_upgraded_in_place(
    ledger: Ledger, actors: Actors, operator_key: SigningKey
) -> None:
    # A ledger written by older code: the same data at revision 0003 (before the BIGINT sequence
    # columns and the auth-challenge table). The node refuses to open it until `bpass init`
    # (Repository.migrate) upgrades it in place; then nothing was lost and appends go on.
    from alembic import command

    from passport.ledger.audit import audit

    key = actors.add("miner")
    ledger.append(ledger.sign_new(key, "KeyRotation", {"nextKey": SigningKey.generate().multikey}))
    before = ledger.info()
    repo = ledger.repo
    with repo.engine.connect() as conn, conn.begin():
        command.downgrade(repo._alembic(conn), "0003")
    assert repo.schema_revision()[0] == "0003"
    with pytest.raises(LedgerStateError, match="revision 0003"):
        repo.check_schema()
    repo.migrate()
    current, head = repo.schema_revision()
    assert current == head
    repo.check_schema()
    assert ledger.info() == before
    report = audit(repo, before.origin, before.log_vkey, workers=1)
    assert report.ok, report.findings
    ledger.append(
        ledger.sign_new(
            operator_key,
            "ActorRegistration",
            {"id": SigningKey.generate().did, "name": "After upgrade", "roles": ["miner"]},
        )
    )
    assert ledger.info().size == before.size + 1
