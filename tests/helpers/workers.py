"""Code run in child processes by the concurrency and crash tests (importable by spawn)."""

from __future__ import annotations

from typing import Any

from passport.errors import ChainError
from passport.ledger.pipeline import Ledger
from passport.records.envelope import build_record, record_hash, sign_record
from passport.store.sql.repository import Repository
from signing.jcs import canonicalize
from signing.keys import SigningKey


def _ledger(db_url: str, log_seed: bytes) -> Ledger:
    return Ledger(Repository(db_url), log_key=SigningKey.from_seed(log_seed), workers=1)


def register_many(db_url: str, log_seed: bytes, operator_seed: bytes, n: int, tag: str) -> int:
    """Append ``n`` registrations as the operator, racing other processes for the same chain."""
    ledger = _ledger(db_url, log_seed)
    operator = SigningKey.from_seed(operator_seed)
    retries = 0
    done = 0
    while done < n:
        subject = {"id": SigningKey.generate().did, "name": f"{tag}-{done}", "roles": ["miner"]}
        try:
            ledger.append(ledger.sign_new(operator, "ActorRegistration", subject))
        except ChainError:
            retries += 1  # another process took this sequence number: re-read the head, re-sign
            continue
        done += 1
    ledger.close()
    return retries


def rotate_many(db_url: str, log_seed: bytes, seed: bytes, n: int) -> int:
    """Append ``n`` key rotations on one actor's own chain."""
    ledger = _ledger(db_url, log_seed)
    key = SigningKey.from_seed(seed)
    for _ in range(n):
        nxt = SigningKey.generate()
        ledger.append(ledger.sign_new(key, "KeyRotation", {"nextKey": nxt.multikey}))
        key = nxt
    ledger.close()
    return n


def batches_forever(db_url: str, log_seed: bytes, operator_seed: bytes, batch: int) -> None:
    """Append chained batches of registrations until killed."""
    ledger = _ledger(db_url, log_seed)
    operator = SigningKey.from_seed(operator_seed)
    while True:
        seq, prev = ledger.chain_head(operator.did)
        records: list[dict[str, Any]] = []
        for i in range(batch):
            unsigned = build_record(
                "ActorRegistration",
                issuer=operator.did,
                subject={
                    "id": SigningKey.generate().did,
                    "name": f"b{seq}-{i}",
                    "roles": ["miner"],
                },
                sequence=seq + 1 + i,
                previous=prev,
                valid_from="2026-11-22T10:00:00Z",
            )
            signed = sign_record(unsigned, operator)
            prev = record_hash(canonicalize(signed))
            records.append(signed)
        ledger.append_batch(records)
