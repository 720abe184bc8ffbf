"""Signed partitions: each Annex XIII partition of a passport is its own Verifiable Credential.

The public ledger serves every record's bytes to anyone, so the confidential partitions (points 2,
3, 4) cannot live inside a record. Each partition is a VC 2.0 signed (``eddsa-jcs-2022``) by the
issuer of the ledger record that commits to it; the record carries the SHA-256 of the partition's
canonical bytes. A reader given one partition checks it against the signed, logged record with
:func:`verify_partition` without seeing the others. Partitions 2 to 4 hold a random salt, so their
hashes, which are public, cannot be confirmed by guessing the content.

Records that commit to partitions (``credentialSubject.partitions``, partition number → hash):
``BatteryPassport`` (all four), ``PassportUpdate`` and ``PassportStatusChange`` (a new point 4).

Partition bodies travel with their record to the append pipeline through :func:`staged`: the
kind's handler stores them in the same transaction that accepts the record, so a record is never
accepted without its partitions nor a partition stored without its record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from passport.errors import PartitionUnverifiedError
from passport.records.envelope import CONTEXT, ParsedRecord, record_hash, sign_record
from signing.errors import BpassError
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey
from signing.multikey import decode_multikey
from signing.proofs import verify_proof

PARTITION_TYPE = "BatteryPassportPartition"


def sign_partition(
    *,
    passport_id: str,
    number: int,
    data: Mapping[str, Any],
    issuer: str,
    key: SigningKey,
    valid_from: str,
) -> dict[str, Any]:
    """Partition ``number`` of a passport as a VC signed by ``key`` on behalf of ``issuer``."""
    unsigned = {
        "@context": list(CONTEXT),
        "type": ["VerifiableCredential", PARTITION_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {"passportId": passport_id, "partition": number, "data": dict(data)},
    }
    return sign_record(unsigned, key, created=valid_from)


def partition_hash(partition: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the partition's canonical (RFC 8785) bytes: what records commit to."""
    return record_hash(canonicalize(dict(partition)))


def commitments(record: Mapping[str, Any] | ParsedRecord) -> dict[int, str]:
    """The partitions a record commits to: number → hash."""
    doc = record.doc if isinstance(record, ParsedRecord) else record
    raw = doc.get("credentialSubject", {}).get("partitions", {})
    return {int(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def partition_number(partition: Mapping[str, Any]) -> int:
    """The Annex XIII point a partition holds."""
    number = _subject(partition).get("partition")
    if not isinstance(number, int) or isinstance(number, bool):
        raise PartitionUnverifiedError(
            "the partition names no partition number", reason="malformed"
        )
    return number


def partition_data(partition: Mapping[str, Any]) -> dict[str, Any]:
    """The partition's content (the passport document's ``pointN`` field)."""
    data = _subject(partition).get("data")
    if not isinstance(data, dict):
        raise PartitionUnverifiedError("the partition holds no data object", reason="malformed")
    return data


def _subject(partition: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = partition.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise PartitionUnverifiedError("the partition has no credentialSubject", reason="malformed")
    return subject


def _resolve(vm: str) -> bytes:
    return decode_multikey(vm.rsplit("#", 1)[1])


def verify_partition(
    passport_record: Mapping[str, Any] | ParsedRecord, partition: Mapping[str, Any]
) -> None:
    """Check a served partition against the signed ledger record that commits to it.

    ``passport_record`` is the ``BatteryPassport`` record (or the ``PassportUpdate`` /
    ``PassportStatusChange`` record that committed a later point 4). Passes silently; otherwise a
    :class:`PartitionUnverifiedError` whose ``reason`` names the failed check: ``malformed``,
    ``not_committed``, ``hash``, ``passport``, ``issuer``, ``signature``.
    """
    record = passport_record.doc if isinstance(passport_record, ParsedRecord) else passport_record
    number = partition_number(partition)
    committed = commitments(record).get(number)
    if committed is None:
        raise PartitionUnverifiedError(
            f"the record commits to no partition {number}", reason="not_committed", partition=number
        )
    actual = partition_hash(partition)
    if actual != committed:
        raise PartitionUnverifiedError(
            f"partition {number} hashes to {actual}, but the signed record commits to {committed}: "
            "it was altered or is not the partition of this record",
            reason="hash",
            partition=number,
        )
    record_subject = record.get("credentialSubject", {})
    if _subject(partition).get("passportId") != record_subject.get("passportId"):
        raise PartitionUnverifiedError(
            f"partition {number} belongs to another passport", reason="passport", partition=number
        )
    if partition.get("type") != ["VerifiableCredential", PARTITION_TYPE]:
        raise PartitionUnverifiedError(
            f"partition {number} is not a {PARTITION_TYPE}", reason="malformed"
        )
    record_vm = record.get("proof", {}).get("verificationMethod")
    if partition.get("issuer") != record.get("issuer") or (
        partition.get("proof", {}).get("verificationMethod") != record_vm
    ):
        raise PartitionUnverifiedError(
            f"partition {number} is not signed by the record's issuer and key",
            reason="issuer",
            partition=number,
        )
    try:
        verify_proof(partition, resolve_key=_resolve)
    except BpassError as exc:
        raise PartitionUnverifiedError(
            f"partition {number}'s signature does not verify: {exc.message}",
            reason="signature",
            partition=number,
        ) from exc


def parse_partition(body: bytes) -> dict[str, Any]:
    """A stored partition's canonical bytes as a JSON object."""
    value = parse_json(body)
    if not isinstance(value, dict):
        raise PartitionUnverifiedError("a partition must be a JSON object", reason="malformed")
    return value


# -- handing partition bodies to the append pipeline ---------------------------------------------
_STAGED: ContextVar[Mapping[str, bytes] | None] = ContextVar(
    "bpass_staged_partitions", default=None
)


@contextmanager
def staged(partitions: Iterable[Mapping[str, Any]]) -> Iterator[None]:
    """Make signed partitions available to the handlers of records appended inside the block."""
    bodies = dict(_STAGED.get() or {})
    for p in partitions:
        body = canonicalize(dict(p))
        bodies[record_hash(body)] = body
    token = _STAGED.set(bodies)
    try:
        yield
    finally:
        _STAGED.reset(token)


def staged_body(partition_hash_value: str) -> bytes | None:
    """The canonical bytes of a staged partition with this hash, if one was staged."""
    return (_STAGED.get() or {}).get(partition_hash_value)
