"""A served passport view checked offline (:func:`verify_view`): what a reader who holds only the
view (:meth:`passport.service.views.PassportView.to_dict`) can verify without the ledger.

Kept apart from :mod:`passport.service.views`, which reads the ledger's database, so that a
bundle's verifier (:mod:`passport.verify.bundle`) runs without a database library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passport.document.partitions import PARTITION_FIELD
from passport.document.signed_partitions import partition_data, verify_partition
from passport.errors import PartitionUnverifiedError
from passport.ledger import log as translog
from passport.ledger.accept import verify_record_proof
from passport.records.envelope import parse_record

__all__ = ["verify_view"]


def verify_view(served: Mapping[str, Any], *, log_vkey: str | None = None) -> None:
    """Check a served view (:meth:`PassportView.to_dict`) offline: every record's signature, each
    partition against the record committing to it, the shown data equal to the signed partitions,
    the metadata equal to the records, and (given the log's verifier key) each record's inclusion
    in the log. Raises a typed error naming the first failure."""
    evidence = served["evidence"]
    records: dict[str, dict[str, Any]] = {}
    for doc in [evidence["passportRecord"], *evidence["lifecycleRecords"]]:
        parsed = parse_record(doc, max_bytes=1 << 30)
        verify_record_proof(parsed)
        records[parsed.hash] = doc
    passport_record = evidence["passportRecord"]
    subject = passport_record["credentialSubject"]
    document = served["passport"]
    if (
        document.get("passportId") != subject["passportId"]
        or document.get("batteryId") != subject["batteryId"]
    ):
        raise PartitionUnverifiedError(
            "the shown passport identifiers differ from the signed record", reason="passport"
        )
    for key, partition in evidence["partitions"].items():
        number = int(key)
        committing = records.get(evidence["committedBy"][key])
        if committing is None:
            raise PartitionUnverifiedError(
                f"partition {number}'s committing record is not in the evidence",
                reason="not_committed",
            )
        if committing["credentialSubject"]["passportId"] != subject["passportId"]:
            raise PartitionUnverifiedError(
                f"partition {number} is committed for another passport", reason="passport"
            )
        verify_partition(committing, partition)
        if document.get(PARTITION_FIELD[number]) != partition_data(partition):
            raise PartitionUnverifiedError(
                f"the shown point {number} differs from the signed partition", reason="hash"
            )
    for key in document:
        if key.startswith("point") and key[5:] not in evidence["partitions"]:
            raise PartitionUnverifiedError(
                f"{key} is shown without its signed partition", reason="not_committed"
            )
    changes = [r for r in evidence["lifecycleRecords"] if r["type"][1] == "PassportStatusChange"]
    status = changes[-1]["credentialSubject"]["to"] if changes else subject["status"]
    successor = next(
        (
            r["credentialSubject"]["successor"]["passportId"]
            for r in changes
            if "successor" in r["credentialSubject"]
        ),
        None,
    )
    ceased = next(
        (r["validFrom"] for r in changes if r["credentialSubject"]["to"] == "recycled"), None
    )
    shown = (document.get("status"), document.get("successor"), document.get("ceasedAt"))
    if shown != (status, successor, ceased):
        raise PartitionUnverifiedError(
            "the shown status, successor or cessation differs from the signed records",
            reason="status",
        )
    if log_vkey is not None:
        for h in records:
            receipt = evidence.get("receipts", {}).get(h)
            if receipt is None:
                raise PartitionUnverifiedError(f"no receipt for record {h}", reason="inclusion")
            translog.verify_receipt(receipt, log_vkey)
