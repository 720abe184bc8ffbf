"""A served passport view checked offline (:func:`verify_view`): what a reader who holds only the
view (:meth:`passport.service.views.PassportView.to_dict`) can verify without the ledger.

Kept apart from :mod:`passport.service.views`, which reads the ledger's database, so that a
bundle's verifier (:mod:`passport.verify.bundle`) runs without a database library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passport.document.body import document_from
from passport.document.compliance import carbon_class_status
from passport.document.partitions import partitions_for, view
from passport.document.signed_partitions import commitments, partition_data, verify_partition
from passport.document.versions import versions_from_records
from passport.errors import PartitionUnverifiedError
from passport.ledger import log as translog
from passport.ledger.accept import verify_record_proof
from passport.records.envelope import parse_record
from passport.verify.assurance import assurances_in_view

__all__ = ["first_difference", "rebuild_view", "verify_view"]


_ADVANCING = ("PassportStatusChange", "PassportUpdate")
"""Lifecycle records that move ``lastUpdated`` (a mandate does not: passport.document.rules)."""


def rebuild_view(evidence: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The view ``role`` is served, computed from the evidence alone, exactly as the ledger
    builds it (:func:`passport.service.views.show_passport`): the metadata from the signed
    passport record and its lifecycle records (``issuedAt`` is the passport record's
    ``validFrom``, ``lastUpdated`` the ``validFrom`` of the latest status change or update,
    status, successor and cessation from the status changes), each point from its signed
    partition, and only the fields of ``role``'s partitions (Art. 77(2))."""
    passport_record = evidence["passportRecord"]
    lifecycle = evidence["lifecycleRecords"]
    changes = [r for r in lifecycle if r["type"][1] == "PassportStatusChange"]
    advancing = [r for r in lifecycle if r["type"][1] in _ADVANCING]
    subject = passport_record["credentialSubject"]
    document = document_from(
        subject,
        passport_record["validFrom"],
        {int(n): partition_data(p) for n, p in evidence["partitions"].items()},
        status=changes[-1]["credentialSubject"]["to"] if changes else subject["status"],
        last_updated=(advancing[-1] if advancing else passport_record)["validFrom"],
        successor=next(
            (
                r["credentialSubject"]["successor"]["passportId"]
                for r in changes
                if "successor" in r["credentialSubject"]
            ),
            None,
        ),
        ceased_at=next(
            (r["validFrom"] for r in changes if r["credentialSubject"]["to"] == "recycled"), None
        ),
    )
    return view(document, role)


def _json_type(value: Any) -> str:
    # JSON's types (RFC 8259 §3): Python's bool is an int, and 1 == 1.0 == True.
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def first_difference(shown: Any, expected: Any, pointer: str = "") -> tuple[str, Any, Any] | None:
    """The first place where ``shown`` differs from ``expected`` as JSON values: its RFC 6901
    pointer, the value shown there and the value expected (``None`` where a member is absent,
    named in the pointer); ``None`` if they are equal."""
    if isinstance(shown, Mapping) and isinstance(expected, Mapping):
        for key in sorted({*shown, *expected}):
            at = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in expected:
                return at, shown[key], None
            if key not in shown:
                return at, None, expected[key]
            found = first_difference(shown[key], expected[key], at)
            if found is not None:
                return found
        return None
    if isinstance(shown, list) and isinstance(expected, list):
        for i, (a, b) in enumerate(zip(shown, expected, strict=False)):
            found = first_difference(a, b, f"{pointer}/{i}")
            if found is not None:
                return found
        if len(shown) != len(expected):
            return pointer, shown, expected
        return None
    if _json_type(shown) != _json_type(expected) or shown != expected:
        return pointer, shown, expected
    return None


_SHOWN_CHARS = 80
"""A value quoted in a message longer than this is cut (its length said)."""


def described(value: Any) -> str:
    """A value as a verification message quotes it: its repr, cut when long."""
    if value is None:
        return "nothing"
    text = repr(value)
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[: _SHOWN_CHARS - 20]}… ({len(text)} characters)"


def verify_view(served: Mapping[str, Any], *, log_vkey: str | None = None) -> None:
    """Check a served view (:meth:`PassportView.to_dict`) offline: every record's signature, each
    partition against the record committing to it (the latest record committing to its point),
    the lifecycle records being this passport's, the whole shown view equal to the view rebuilt
    from the signed records and partitions (:func:`rebuild_view`: no member more, none other),
    and (given the log's verifier key) each record's inclusion in the log. Raises a typed error
    naming the first failure."""
    evidence = served["evidence"]
    records: dict[str, dict[str, Any]] = {}
    for doc in [evidence["passportRecord"], *evidence["lifecycleRecords"]]:
        parsed = parse_record(doc, max_bytes=1 << 30)
        verify_record_proof(parsed)
        records[parsed.hash] = doc
    passport_record = evidence["passportRecord"]
    passport_hash = parse_record(passport_record, max_bytes=1 << 30).hash
    subject = passport_record["credentialSubject"]
    role = str(served["role"])
    if sorted(evidence["partitions"]) != sorted(str(n) for n in partitions_for(role)):
        raise PartitionUnverifiedError(
            f"role {role} is not served exactly its partitions", reason="not_committed"
        )
    # The lifecycle records must be this passport's (their subject names its record).
    for doc in evidence["lifecycleRecords"]:
        s = doc["credentialSubject"]
        if s.get("passportId") != subject["passportId"] or s.get("passport") != passport_hash:
            raise PartitionUnverifiedError(
                "a lifecycle record of the view is another passport's", reason="passport"
            )
    # Each point is committed by the latest record committing to it (a point-4 update
    # supersedes the partition the passport record committed to).
    latest: dict[int, str] = {}
    for h, doc in records.items():
        for number in commitments(doc):
            latest[number] = h
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
        if latest.get(number) != evidence["committedBy"][key]:
            raise PartitionUnverifiedError(
                f"partition {number} is not the latest one committed", reason="not_committed"
            )
        verify_partition(committing, partition)
    # Every value shown equals signed data or what this verifier computes from it.
    found = first_difference(served["passport"], rebuild_view(evidence, role))
    if found is not None:
        pointer, shown, expected = found
        raise PartitionUnverifiedError(
            f"the view shows {described(shown)} at {pointer}; the signed records give "
            f"{described(expected)}",
            reason="view",
            pointer=pointer,
        )
    # The versions and annotations are what the signed records give (if shown at all: a view
    # of an older node has neither); no other member is shown.
    unknown = set(served) - {
        "role",
        "passport",
        "evidence",
        "version",
        "versions",
        "annotations",
        "assurances",
    }
    if unknown:
        raise PartitionUnverifiedError(
            f"the view shows members no signed record gives: {', '.join(sorted(unknown))}",
            reason="view",
        )
    if "versions" in served or "version" in served:
        signed = [parse_record(d, max_bytes=1 << 30) for d in records.values()]
        expected_versions = versions_from_records((r.hash, r.kind) for r in signed)
        if served.get("versions") != expected_versions or served.get("version") != (
            expected_versions[-1] if expected_versions else None
        ):
            raise PartitionUnverifiedError(
                "the view's passport versions are not those of its signed records",
                reason="view",
                pointer="/versions",
            )
    if "assurances" in served and served["assurances"] != assurances_in_view(
        evidence["lifecycleRecords"]
    ):
        raise PartitionUnverifiedError(
            "the view's assurances are not those its signed Assurance records state",
            reason="view",
            pointer="/assurances",
        )
    if "annotations" in served:
        carbon = served["passport"].get("point1", {}).get("carbonFootprint", {})
        expected = (
            {"carbonFootprintClass": carbon_class_status(served["passport"])}
            if carbon.get("performanceClass") is not None
            else {}
        )
        if served["annotations"] != expected:
            raise PartitionUnverifiedError(
                "the view's annotations are not those computed from its signed data",
                reason="view",
                pointer="/annotations",
            )
    if log_vkey is not None:
        for h in records:
            receipt = evidence.get("receipts", {}).get(h)
            if receipt is None:
                raise PartitionUnverifiedError(f"no receipt for record {h}", reason="inclusion")
            translog.verify_receipt(receipt, log_vkey)
